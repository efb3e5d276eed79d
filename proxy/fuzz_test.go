package proxy

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
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

// FuzzProxyTD: whatever TD a client registers, the proxy's check accepts
// or refuses it with an error, never panics; a device it accepts has a
// topic for each of its routes and commands.
func FuzzProxyTD(f *testing.F) {
	for _, name := range []string{"../examples/tasmota/plug1.td.json", "../examples/zigbee2mqtt/sensor1.td.json"} {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"x","wotmq:proxy":true,"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",` +
		`"wotmq:availability":{"mqv:filter":"a/+/b","online":"1","offline":"0","wotmq:settle":"0s"},` +
		`"events":{"e":{"forms":[{"href":"mqtt://h/x/y"}]}}}`))
	check := Checker(nil)
	f.Fuzz(func(t *testing.T, doc []byte) {
		thing, err := td.Parse(doc)
		if err != nil {
			return
		}
		if check(authz.Identity{ID: "integrator"}, thing) != nil || !twin.Proxied(thing) {
			return
		}
		d, err := parseDevice(thing, "integrator")
		if err != nil {
			t.Fatalf("Checker accepted what parseDevice refuses: %v", err)
		}
		for _, r := range d.inbound {
			if !validTopic(r.filter, true) {
				t.Fatalf("route filter %q", r.filter)
			}
		}
		for k, c := range d.commands {
			if !validTopic(c.topic, false) {
				t.Fatalf("%v: command topic %q", k, c.topic)
			}
		}
	})
}
