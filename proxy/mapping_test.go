package proxy

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/wotmq/wotmq/td"
)

// testCodec reads a form given as JSON into a codec for schema.
func testCodec(t *testing.T, form string, schema *td.DataSchema) codec {
	t.Helper()
	var f td.Form
	if err := json.Unmarshal([]byte(form), &f); err != nil {
		t.Fatalf("form %s: %v", form, err)
	}
	c, err := newCodec(&f, schema)
	if err != nil {
		t.Fatalf("form %s: %v", form, err)
	}
	return c
}

// TestProxyDecode: each payload mapping turns a device's message into the
// twin's JSON value.
func TestProxyDecode(t *testing.T) {
	str := &td.DataSchema{Type: "string"}
	boolean := &td.DataSchema{Type: "boolean"}
	num := &td.DataSchema{Type: "number"}
	obj := &td.DataSchema{Type: "object"}
	cases := []struct {
		name    string
		form    string
		schema  *td.DataSchema
		payload string
		want    string // "" for errAbsent, "!" for an error
	}{
		{"TextAsString", `{"href":"","contentType":"text/plain"}`, str, "ON", `"ON"`},
		{"TextTrimmed", `{"href":"","contentType":"text/plain; charset=utf-8"}`, str, " ON\n", `"ON"`},
		{"TextMappedToBoolean", `{"href":"","contentType":"text/plain","wotmq:map":{"ON":true,"OFF":false}}`, boolean, "OFF", `false`},
		{"TextBooleanWords", `{"href":"","contentType":"text/plain"}`, boolean, "on", `true`},
		{"TextNotABoolean", `{"href":"","contentType":"text/plain"}`, boolean, "maybe", "!"},
		{"TextNumber", `{"href":"","contentType":"text/plain"}`, num, "21.5", `21.5`},
		{"TextNotANumber", `{"href":"","contentType":"text/plain"}`, num, "warm", "!"},
		{"TextNaNRefused", `{"href":"","contentType":"text/plain"}`, num, "NaN", "!"},
		{"TextJSONObject", `{"href":"","contentType":"text/plain"}`, obj, `{"a": 1}`, `{"a":1}`},
		{"JSONWhole", `{"href":""}`, obj, `{"temperature":21.5,"battery":90}`, `{"battery":90,"temperature":21.5}`},
		{"JSONPointer", `{"href":"","wotmq:pointer":"/temperature"}`, num, `{"temperature":21.5,"battery":90}`, `21.5`},
		{"JSONPointerNested", `{"href":"","wotmq:pointer":"/ENERGY/Power"}`, num, `{"Time":"t","ENERGY":{"Power":12}}`, `12`},
		{"JSONPointerArray", `{"href":"","wotmq:pointer":"/v/1"}`, num, `{"v":[1,2]}`, `2`},
		{"JSONPointerEscapes", `{"href":"","wotmq:pointer":"/a~1b/c~0d"}`, num, `{"a/b":{"c~d":3}}`, `3`},
		{"JSONPointerAbsent", `{"href":"","wotmq:pointer":"/humidity"}`, num, `{"temperature":21.5}`, ""},
		{"JSONPointerIntoScalar", `{"href":"","wotmq:pointer":"/a/b"}`, num, `{"a":1}`, ""},
		{"JSONPointerMapped", `{"href":"","wotmq:pointer":"/state","wotmq:map":{"ON":true,"OFF":false}}`, boolean, `{"state":"ON"}`, `true`},
		{"JSONBigNumberKept", `{"href":""}`, num, `12345678901234567890`, `12345678901234567890`},
		{"JSONInvalid", `{"href":""}`, num, `{"a":`, "!"},
		{"JSONTwoValues", `{"href":""}`, num, `1 2`, "!"},
		{"NotUTF8", `{"href":"","contentType":"text/plain"}`, str, "\xff", "!"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testCodec(t, tc.form, tc.schema)
			got, err := c.decode([]byte(tc.payload))
			switch {
			case tc.want == "":
				if !errors.Is(err, errAbsent) {
					t.Fatalf("decode(%q) = %s, %v; want errAbsent", tc.payload, got, err)
				}
			case tc.want == "!":
				if err == nil {
					t.Fatalf("decode(%q) = %s; want an error", tc.payload, got)
				}
			case err != nil || string(got) != tc.want:
				t.Fatalf("decode(%q) = %s, %v; want %s", tc.payload, got, err, tc.want)
			}
		})
	}
}

// TestProxyEncode: a request's input becomes the payload the form
// describes for the device's command.
func TestProxyEncode(t *testing.T) {
	cases := []struct {
		name, form, input, want string
	}{
		{"TextString", `{"href":"","contentType":"text/plain"}`, `"ON"`, `ON`},
		{"TextMapped", `{"href":"","contentType":"text/plain","wotmq:map":{"ON":true,"OFF":false}}`, `false`, `OFF`},
		{"TextNumber", `{"href":"","contentType":"text/plain"}`, `42`, `42`},
		{"TextFixedWithoutInput", `{"href":"","contentType":"text/plain","wotmq:payload":"TOGGLE"}`, ``, `TOGGLE`},
		{"TextEmptyWithoutInput", `{"href":"","contentType":"text/plain"}`, ``, ``},
		{"JSONAsIs", `{"href":""}`, `{"a": 1}`, `{"a":1}`},
		{"JSONPointerWraps", `{"href":"","wotmq:pointer":"/state"}`, `"ON"`, `{"state":"ON"}`},
		{"JSONPointerNestedWraps", `{"href":"","wotmq:pointer":"/a/b"}`, `3`, `{"a":{"b":3}}`},
		{"JSONPointerMapped", `{"href":"","wotmq:pointer":"/state","wotmq:map":{"ON":true,"OFF":false}}`, `true`, `{"state":"ON"}`},
		{"JSONNullWithoutInput", `{"href":""}`, ``, `null`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := testCodec(t, tc.form, nil)
			got, err := c.encode([]byte(tc.input))
			if err != nil || string(got) != tc.want {
				t.Fatalf("encode(%s) = %q, %v; want %q", tc.input, got, err, tc.want)
			}
		})
	}
}

// TestProxyFormMembersRefused: mapping members the proxy cannot use are
// refused with what is wrong.
func TestProxyFormMembersRefused(t *testing.T) {
	for name, form := range map[string]string{
		"UnknownContentType": `{"href":"","contentType":"image/png"}`,
		"PointerNotAString":  `{"href":"","wotmq:pointer":3}`,
		"PointerNoSlash":     `{"href":"","wotmq:pointer":"temperature"}`,
		"PointerBadEscape":   `{"href":"","wotmq:pointer":"/a~2"}`,
		"PointerOnText":      `{"href":"","contentType":"text/plain","wotmq:pointer":"/a"}`,
		"MapEmpty":           `{"href":"","wotmq:map":{}}`,
		"PayloadNotAString":  `{"href":"","wotmq:payload":1}`,
	} {
		t.Run(name, func(t *testing.T) {
			var f td.Form
			if err := json.Unmarshal([]byte(form), &f); err != nil {
				t.Fatal(err)
			}
			if _, err := newCodec(&f, nil); err == nil {
				t.Fatalf("newCodec(%s) took it", form)
			}
		})
	}
}
