package td

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"
)

// addTestdataSeeds adds every TD under testdata to a fuzzer's corpus.
func addTestdataSeeds(f *testing.F) {
	f.Helper()
	files, err := filepath.Glob("testdata/*.td.json")
	if err != nil {
		f.Fatal(err)
	}
	more, _ := filepath.Glob("testdata/invalid/*.td.json")
	for _, name := range append(files, more...) {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
}

// FuzzParse checks that Parse never panics, that its errors wrap
// ErrInvalidJSON, and that encoding a parsed TD is lossless and stable:
// Parse(Marshal(x)) succeeds, is deep-equal to x, and encodes the same.
func FuzzParse(f *testing.F) {
	addTestdataSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		th, err := Parse(data)
		if err != nil {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("error %v does not wrap ErrInvalidJSON", err)
			}
			return
		}
		first, err := Marshal(th)
		if err != nil {
			t.Fatalf("Marshal(Parse(x)): %v", err)
		}
		again, err := Parse(first)
		if err != nil {
			t.Fatalf("Parse(Marshal(Parse(x))): %v\n%s", err, first)
		}
		second, err := Marshal(again)
		if err != nil {
			t.Fatalf("Marshal(Parse(Marshal(Parse(x)))): %v", err)
		}
		if !bytes.Equal(first, second) {
			t.Fatalf("unstable encoding:\n%s\n%s", first, second)
		}
		if !reflect.DeepEqual(again, again.Clone()) {
			t.Fatal("Clone differs")
		}
	})
}

// FuzzValidate checks that Validate never panics on a parsed TD, with
// either option, and returns a well-formed *ValidationError.
func FuzzValidate(f *testing.F) {
	addTestdataSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		th, err := Parse(data)
		if err != nil {
			return
		}
		for _, opts := range []ValidateOptions{{}, {FormsOptional: true}} {
			err := Validate(th, opts)
			if err == nil {
				continue
			}
			var ve *ValidationError
			if !errors.As(err, &ve) || len(ve.Problems) == 0 || !errors.Is(err, ErrInvalidTD) {
				t.Fatalf("bad error %#v", err)
			}
			for _, p := range ve.Problems {
				if p.Path == "" || p.Path[0] != '$' || p.Message == "" {
					t.Fatalf("bad problem %+v", p)
				}
			}
		}
	})
}

// FuzzValidateValue checks that value validation never panics, for any
// schema and value, and returns nil or a *ValueError.
func FuzzValidateValue(f *testing.F) {
	seeds := []struct{ schema, value string }{
		{`{"type":"integer","minimum":0,"maximum":100,"multipleOf":5}`, `55`},
		{`{"type":"string","enum":["on","off"],"pattern":"^o"}`, `"x"`},
		{`{"type":"array","items":[{"type":"string"}],"minItems":1}`, `["a",1]`},
		{`{"type":"object","properties":{"a":{"oneOf":[{"const":1},{"type":"string"}]}},"required":["a"]}`, `{"a":1.0}`},
		{`{"items":{"items":{"maxLength":2}}}`, `[[["abc"]]]`},
		{`{"exclusiveMinimum":1e308}`, `-1e999`},
		{`{}`, ``},
		{`{"type":"integer"}`, `1e400`},
		{`{"type":"number"}`, `[-1E+309]`},
		{`{"type":"integer","minimum":0}`, `123456789012345678901234567890`},
	}
	for _, s := range seeds {
		f.Add([]byte(s.schema), []byte(s.value))
	}
	f.Fuzz(func(t *testing.T, schema, value []byte) {
		var s DataSchema
		if err := json.Unmarshal(schema, &s); err != nil {
			return
		}
		err := s.ValidateJSON(value)
		if err == nil {
			// An accepted value holds no number beyond float64's range.
			dec := json.NewDecoder(bytes.NewReader(value))
			dec.UseNumber()
			var v any
			if dec.Decode(&v) == nil {
				walkNumbers(v, func(n json.Number) {
					if f, err := strconv.ParseFloat(string(n), 64); err != nil && math.IsInf(f, 0) {
						t.Fatalf("accepted %s: %s overflows float64", value, n)
					}
				})
			}
			return
		}
		var ve *ValueError
		if !errors.As(err, &ve) || !errors.Is(err, ErrInvalidValue) || ve.Path == "" {
			t.Fatalf("bad error %#v", err)
		}
	})
}

// walkNumbers calls fn with every number in a decoded JSON value.
func walkNumbers(v any, fn func(json.Number)) {
	switch x := v.(type) {
	case json.Number:
		fn(x)
	case []any:
		for _, e := range x {
			walkNumbers(e, fn)
		}
	case map[string]any:
		for _, e := range x {
			walkNumbers(e, fn)
		}
	}
}
