package td

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecodeAny compares decodeAny, the decoder of value validation, with
// encoding/json's Decoder (UseNumber), which it replaced: for every
// well-formed JSON input both must give the same value.
func FuzzDecodeAny(f *testing.F) {
	for _, s := range []string{
		`"plain"`, `  "x"  `, `"esc\"aped\\ \/ \b\f\n\r\t \u00e9 \ud83d\ude00 \ud800 x"`, "\"caf\xc3\xa9\"", "\"bad \xff utf8\"",
		`0`, `-1.5e+10`, `123456789012345678901234567890`, `1E400`, `true`, `false`, `null`,
		`{}`, `[]`, `{"a":1,"a":2}`, `{"a":{"b":[1,"2",{"c":null}]},"":[]}`, ` [ 1 , [ ] , { } ] `,
		"{\"k\\u0041\":\"v\"}", `[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if !json.Valid(data) || checkDepth(data, MaxDepth) != nil {
			return
		}
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.UseNumber()
		var want any
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("Decoder: %v", err)
		}
		got, err := decodeAny(data)
		if err != nil {
			t.Fatalf("decodeAny(%q): %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("decodeAny(%q) = %#v, Decoder gives %#v", data, got, want)
		}
	})
}
