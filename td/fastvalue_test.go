package td

import (
	"encoding/binary"
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// fastValueSchemas are the schemas FuzzValidateFast and the tests below
// try each value against: one for every keyword acceptsFast reads, and
// some it leaves to the full path.
var fastValueSchemas = []string{
	`{}`,
	hotBenchEventSchema,
	`{"type":"integer","minimum":0,"maximum":100,"multipleOf":5}`,
	`{"type":"number","exclusiveMinimum":-1.5,"exclusiveMaximum":1e3}`,
	`{"type":"string","minLength":2,"maxLength":4,"pattern":"^[a-zé]+$"}`,
	`{"type":"boolean"}`,
	`{"type":"null"}`,
	`{"type":"array","items":{"type":"number"},"minItems":1,"maxItems":3}`,
	`{"type":"array","items":[{"type":"string"},{"type":"integer"}]}`,
	`{"type":"object","properties":{"a":{"type":"string","maxLength":1},"b":{"type":"object","properties":{"c":{"type":"integer"}}}},"required":["a","b"]}`,
	`{"type":"object","properties":{"x":{"enum":[1,2]}},"required":["x","x"]}`,
	`{"oneOf":[{"type":"string"},{"type":"integer"}]}`,
	`{"type":"integer"}`,
	`{"type":"foo"}`,
}

// TestValidateFastAgreesWithFull: on values of every kind, acceptsFast
// accepts only what the full path accepts, and accepts the plain values
// an agent sends (the point of it).
func TestValidateFastAgreesWithFull(t *testing.T) {
	accepted := map[int][]string{ // schema index: values the fast path must take
		1:  {string(hotBenchEvent(64)), string(hotBenchEvent(1024)), `{"seq":1,"extra":[1,{"é":"ü"}]}`, ` {"pad":"a\nb"} `},
		2:  {`55`, `0`, `100`},
		3:  {`-1.25`, `999.5`, `0`},
		4:  {`"ab"`, `"éé"`},
		5:  {`true`, `false`},
		6:  {`null`},
		7:  {`[1]`, `[1,2.5,-3e2]`},
		8:  {`["a",1]`, `["a",1,null]`, `[]`},
		9:  {`{"a":"x","b":{"c":1}}`, `{"b":{},"a":""}`},
		12: {`-0`, `12345678901234567890123`},
	}
	values := []string{``, ` `, `{`, `}`, `[`, `]`, `"`, `"\`, `"\u12"`, `"\x"`, "\"\x01\"", "\"\xff\"", `tru`, `nul`, `-`, `01`, `1.`, `1e`, `.5`,
		`1e400`, `-1E+309`, `[1e999]`, `1.0`, `1e2`, `2.5`, `{"a":1,}`, `[1,]`, `{"a" 1}`, `{a:1}`, `{"a\u0062":1}`, `"a\"b"`,
		`{"a":"x","a":"yy","b":{}}`, `{"x":1}`, `{"x":3}`, `[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]`,
		`"abcde"`, `"A1"`, `"\u00e9\u00e9"`, `5 5`, `"ab" x`, `[1,2,3,4]`, `[]`, `{}`, `105`, `7`, `-1.5`, `1000`}
	for _, vs := range accepted {
		values = append(values, vs...)
	}
	for i, src := range fastValueSchemas {
		s := parseSchema(t, src)
		for _, v := range values {
			fast := s.acceptsFast([]byte(v))
			full := s.validateJSONFull([]byte(v))
			if fast && (full != nil || !utf8.ValidString(v)) {
				t.Errorf("schema %s, value %q: fast path accepts, full path says %v", src, v, full)
			}
		}
		for _, v := range accepted[i] {
			if !s.acceptsFast([]byte(v)) {
				t.Errorf("schema %s, value %q: not taken by the fast path (full path: %v)", src, v, s.validateJSONFull([]byte(v)))
			}
		}
	}
}

// FuzzValidateFast checks that the fast path of value validation never
// accepts a value the full path refuses, nor one that is not UTF-8 (the
// hub checks that apart, before), for the schemas above and any schema
// the fuzzer finds.
func FuzzValidateFast(f *testing.F) {
	for i, s := range fastValueSchemas {
		f.Add(i, []byte(s), []byte(`{"seq":1,"a":"x","b":{"c":2}}`))
		f.Add(i, []byte(s), []byte(`[1,"a",-2.5e3,null,true]`))
		f.Add(i, []byte(s), []byte(`"ab\u00e9"`))
	}
	f.Fuzz(func(t *testing.T, pick int, schema, value []byte) {
		var s DataSchema
		if json.Unmarshal(schema, &s) != nil {
			if pick < 0 {
				pick = -pick
			}
			s = DataSchema{}
			if err := json.Unmarshal([]byte(fastValueSchemas[pick%len(fastValueSchemas)]), &s); err != nil {
				t.Fatal(err)
			}
		}
		if !s.acceptsFast(value) {
			return
		}
		if err := s.validateJSONFull(value); err != nil {
			t.Fatalf("fast path accepts %q, full path refuses: %v", value, err)
		}
		if !utf8.Valid(value) {
			t.Fatalf("fast path accepts %q, not UTF-8", value)
		}
	})
}

// TestPlain8: the eight-byte test of acceptsFast's string scan agrees with
// the byte-wise one for every byte value at every position, beside plain
// bytes and beside every other byte value.
func TestPlain8(t *testing.T) {
	plainByte := func(c byte) bool { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' }
	for pos := 0; pos < 8; pos++ {
		for c := 0; c < 256; c++ {
			for _, other := range []byte{'a', 0x7f, 0x20, ' ', '"', 0x00, 0xff} {
				var w [8]byte
				for i := range w {
					w[i] = other
				}
				w[pos] = byte(c)
				want := true
				for _, b := range w {
					want = want && plainByte(b)
				}
				if got := plain8(binary.LittleEndian.Uint64(w[:])); got != want {
					t.Fatalf("%q: plain8 %v, want %v", w, got, want)
				}
			}
		}
	}
}
