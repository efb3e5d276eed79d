package proxy

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/wotmq/wotmq/td"
)

// FuzzDevicePayload: whatever a device publishes, the mapping returns a
// JSON value, errAbsent or an error, never panics; a value it returns is
// valid JSON, and one that fits a form's schema goes back to the device
// as a payload that maps to the same value.
func FuzzDevicePayload(f *testing.F) {
	f.Add(0, "ON", "")
	f.Add(1, `{"temperature":21.5,"humidity":40,"battery":90}`, "/temperature")
	f.Add(1, `{"Time":"2026-12-07T05:00:00","ENERGY":{"Power":12,"Today":0.3}}`, "/ENERGY/Power")
	f.Add(2, "21.5", "")
	f.Add(3, "Online", "")
	f.Add(1, `{"a/b":[1,{"c~d":2}]}`, "/a~1b/1/c~0d")
	f.Add(1, `[1,2,3]`, "/01")
	f.Add(0, "\xff\xfe", "")
	schemas := []struct {
		form   string
		schema *td.DataSchema
	}{
		{`{"href":"","contentType":"text/plain","wotmq:map":{"ON":true,"OFF":false}}`, &td.DataSchema{Type: "boolean"}},
		{`{"href":""}`, &td.DataSchema{Type: "number"}},
		{`{"href":"","contentType":"text/plain"}`, &td.DataSchema{Type: "number"}},
		{`{"href":"","contentType":"text/plain"}`, &td.DataSchema{Type: "string"}},
	}
	f.Fuzz(func(t *testing.T, which int, payload, pointer string) {
		if which < 0 {
			which = -which
		}
		s := schemas[which%len(schemas)]
		var form td.Form
		if err := json.Unmarshal([]byte(s.form), &form); err != nil {
			t.Fatal(err)
		}
		if pointer != "" && form.ContentType == "" {
			b, _ := json.Marshal(pointer)
			form.Extra = map[string]json.RawMessage{PointerMember: b}
		}
		c, err := newCodec(&form, s.schema)
		if err != nil {
			return // a pointer the TD check refuses
		}
		v, err := c.decode([]byte(payload))
		if errors.Is(err, errAbsent) || err != nil {
			return
		}
		if !json.Valid(v) {
			t.Fatalf("decode(%q) = %q, not JSON", payload, v)
		}
		if s.schema.ValidateJSON(v) != nil || len(c.pointer) > 0 {
			return
		}
		out, err := c.encode(v)
		if err != nil {
			t.Fatalf("encode(%s): %v", v, err)
		}
		back, err := c.decode(out)
		if err != nil || !sameJSON(back, v) {
			t.Fatalf("round trip: %q -> %s -> %q -> %s, %v", payload, v, out, back, err)
		}
	})
}
