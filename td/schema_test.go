package td

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// parseSchema decodes a DataSchema.
func parseSchema(t testing.TB, raw string) *DataSchema {
	t.Helper()
	s := new(DataSchema)
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		t.Fatalf("schema %s: %v", raw, err)
	}
	return s
}

func TestValidateValue(t *testing.T) {
	const lamp = `{"type":"object","properties":{
		"brightness":{"type":"integer","minimum":0,"maximum":100},
		"mode":{"type":"string","enum":["on","off"]},
		"color":{"type":"string","pattern":"^#[0-9a-f]{6}$"}},
		"required":["mode"]}`
	cases := []struct {
		name, schema, value string
		want                string // "" means valid; otherwise "path: message"
	}{
		{"AcceptsAnyWithoutType", `{}`, `{"a":[1,null]}`, ""},
		{"AcceptsInteger", `{"type":"integer"}`, `42`, ""},
		{"AcceptsIntegerWithZeroFraction", `{"type":"integer"}`, `42.0`, ""},
		{"AcceptsIntegerWithExponent", `{"type":"integer"}`, `1.5e1`, ""},
		{"AcceptsHugeInteger", `{"type":"integer"}`, `123456789012345678901234567890`, ""},
		{"RejectsFraction", `{"type":"integer"}`, `1.5`, "$: want integer, got number"},
		{"RejectsTinyFraction", `{"type":"integer"}`, `1e-400`, "$: want integer, got number"},
		{"RejectsStringForInteger", `{"type":"integer"}`, `"1"`, "$: want integer, got string"},
		{"NumberAcceptsInteger", `{"type":"number"}`, `3`, ""},
		{"RejectsBoolForNumber", `{"type":"number"}`, `true`, "$: want number, got boolean"},
		{"RejectsIntegerForString", `{"type":"string"}`, `3`, "$: want string, got integer"},
		{"AcceptsNull", `{"type":"null"}`, `null`, ""},
		{"RejectsNullForObject", `{"type":"object"}`, `null`, "$: want object, got null"},
		{"RejectsObjectForArray", `{"type":"array"}`, `{}`, "$: want array, got object"},
		{"AcceptsConstNumberByValue", `{"const":1}`, `1.0`, ""},
		{"RejectsConst", `{"const":"a"}`, `"b"`, `$: want const "a", got "b"`},
		{"AcceptsConstObject", `{"const":{"a":[1,2]}}`, `{"a":[1,2.0]}`, ""},
		{"RejectsConstObjectWithExtraMember", `{"const":{"a":1}}`, `{"a":1,"b":2}`, `$: want const {"a":1}, got {"a":1,"b":2}`},
		{"AcceptsEnumMember", `{"enum":["on","off"]}`, `"off"`, ""},
		{"RejectsEnumNonMember", `{"enum":["on","off"]}`, `"x"`, `$: "x" is not one of ["on","off"]`},
		{"AcceptsEnumNumberByValue", `{"enum":[1,2]}`, `2e0`, ""},
		{"RejectsEnumTypeMismatch", `{"enum":[1,"1"]}`, `true`, `$: true is not one of [1,"1"]`},
		{"RejectsEmptyEnum", `{"enum":[]}`, `1`, `$: 1 is not one of []`},
		{"AcceptsMaximum", `{"maximum":100}`, `100`, ""},
		{"RejectsAboveMaximum", `{"type":"integer","maximum":100}`, `120`, "$: 120 is above maximum 100"},
		{"RejectsBelowMinimum", `{"minimum":-1.5}`, `-2`, "$: -2 is below minimum -1.5"},
		{"RejectsExclusiveMinimum", `{"exclusiveMinimum":0}`, `0`, "$: 0 is not above exclusiveMinimum 0"},
		{"RejectsExclusiveMaximum", `{"exclusiveMaximum":10}`, `10`, "$: 10 is not below exclusiveMaximum 10"},
		{"RejectsHugeAboveMaximum", `{"maximum":1e308}`, `1e400`, "$: number 1e400 is out of range (beyond ±1.8e308)"},
		// Issue 12 item 27: 1e400 is whole as text but overflows float64.
		{"RejectsIntegerOverflow", `{"type":"integer"}`, `1e400`, "$: number 1e400 is out of range (beyond ±1.8e308)"},
		{"RejectsNegativeOverflow", `{"type":"number"}`, `-1E+309`, "$: number -1E+309 is out of range (beyond ±1.8e308)"},
		{"RejectsOverflowWhereNoSchemaLooks", `{"type":"object"}`, `{"a":[1,1e999]}`, "$.a[1]: number 1e999 is out of range (beyond ±1.8e308)"},
		{"AcceptsLargeInteger", `{"type":"integer"}`, `1e308`, ""},
		{"AcceptsMultipleOf", `{"multipleOf":5}`, `15`, ""},
		{"AcceptsDecimalMultipleOf", `{"multipleOf":0.1}`, `0.3`, ""},
		{"RejectsMultipleOf", `{"multipleOf":2}`, `7`, "$: 7 is not a multiple of 2"},
		{"AcceptsMinLengthInRunes", `{"minLength":3,"maxLength":3}`, `"äöü"`, ""},
		{"RejectsShortString", `{"minLength":3}`, `"ab"`, "$: length 2 is below minLength 3"},
		{"RejectsLongString", `{"maxLength":1}`, `"ab"`, "$: length 2 is above maxLength 1"},
		{"AcceptsPatternUnanchored", `{"pattern":"b+"}`, `"abbc"`, ""},
		{"RejectsPattern", `{"pattern":"^[a-z]+$"}`, `"ABC"`, `$: "ABC" does not match pattern "^[a-z]+$"`},
		{"RejectsInvalidPattern", `{"pattern":"("}`, `"x"`, "$: schema pattern \"(\" is invalid: error parsing regexp: missing closing ): `(`"},
		{"RejectsTooFewItems", `{"minItems":2}`, `[1]`, "$: 1 items is below minItems 2"},
		{"RejectsTooManyItems", `{"maxItems":0}`, `[1]`, "$: 1 items is above maxItems 0"},
		{"ChecksItems", `{"items":{"type":"string"}}`, `["a",2]`, "$[1]: want string, got integer"},
		{"ChecksTupleItems", `{"items":[{"type":"string"},{"type":"number"}]}`, `["a","b",true]`, "$[1]: want number, got string"},
		{"AllowsItemsBeyondTuple", `{"items":[{"type":"string"}]}`, `["a",1,null]`, ""},
		{"AcceptsObject", lamp, `{"mode":"on","brightness":40,"extra":true}`, ""},
		{"RejectsMissingRequired", lamp, `{"brightness":40}`, "$.mode: required property missing"},
		{"RejectsPropertyType", lamp, `{"mode":"on","brightness":"40"}`, "$.brightness: want integer, got string"},
		{"RejectsPropertyEnum", lamp, `{"mode":"x"}`, `$.mode: "x" is not one of ["on","off"]`},
		{"RejectsPropertyPattern", lamp, `{"mode":"on","color":"red"}`, `$.color: "red" does not match pattern "^#[0-9a-f]{6}$"`},
		{"QuotesOddPropertyNames", `{"properties":{"a.b":{"type":"string"}}}`, `{"a.b":1}`, "$['a.b']: want string, got integer"},
		{"ReportsNestedPaths", `{"properties":{"list":{"items":{"properties":{"x":{"maximum":1}}}}}}`, `{"list":[{"x":0},{"x":2}]}`,
			"$.list[1].x: 2 is above maximum 1"},
		{"ReportsFirstFailingPropertyByName", `{"properties":{"z":{"type":"string"},"b":{"type":"string"},"m":{"type":"string"},"a":{"type":"integer"}}}`,
			`{"z":1,"m":2,"b":3,"a":4}`, "$.b: want string, got integer"},
		{"ReportsPathThroughOneOf", `{"properties":{"p":{"items":{"oneOf":[{"properties":{"q":{"type":"string"}}}]}}}}`,
			`{"p":[{"q":"ok"},{"q":5}]}`, "$.p[1].q: want string, got integer"},
		{"AcceptsObjectsRepeatedly", `{"properties":{"s":{"pattern":"^a+$"},"n":{"minimum":0}}}`, `{"s":"aaa","n":3}`, ""},
		{"AcceptsExactlyOneOf", `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `3`, ""},
		{"RejectsNoOneOf", `{"oneOf":[{"type":"string"},{"type":"integer"}]}`, `true`, "$: matches 0 of 2 oneOf schemas, want exactly 1"},
		{"RejectsTwoOneOf", `{"oneOf":[{"type":"number"},{"type":"integer"}]}`, `3`, "$: matches 2 of 2 oneOf schemas, want exactly 1"},
		{"ReportsSingleOneOfError", `{"oneOf":[{"type":"string"}]}`, `3`, "$: want string, got integer"},
		{"TruncatesLongValues", `{"enum":["x"]}`, `"` + strings.Repeat("y", 100) + `"`,
			`$: "` + strings.Repeat("y", 63) + `… is not one of ["x"]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := parseSchema(t, tc.schema).ValidateJSON([]byte(tc.value))
			checkValueError(t, err, tc.want)
		})
	}
}

// checkValueError checks that err is nil when want is empty, and otherwise
// a *ValueError reading "path: message".
func checkValueError(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Errorf("unexpected error: %v", err)
		}
		return
	}
	var ve *ValueError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValueError", err)
	}
	if !errors.Is(err, ErrInvalidValue) {
		t.Errorf("error %v does not wrap ErrInvalidValue", err)
	}
	if got := ve.Path + ": " + ve.Message; got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !strings.HasPrefix(err.Error(), "td: invalid value: "+want) {
		t.Errorf("Error() = %q", err)
	}
}

func TestValidateGoValues(t *testing.T) {
	s := parseSchema(t, `{"type":"object","properties":{"n":{"type":"integer","maximum":10},"f":{"type":"number"}}}`)
	cases := []struct {
		name  string
		value any
		want  string
	}{
		{"AcceptsInt", map[string]any{"n": 3, "f": float32(1.5)}, ""},
		{"AcceptsWholeFloat", map[string]any{"n": 3.0}, ""},
		{"RejectsFractionalFloat", map[string]any{"n": 3.5}, "$.n: want integer, got number"},
		{"RejectsLargeUint", map[string]any{"n": uint64(11)}, "$.n: 11 is above maximum 10"},
		{"RejectsUnsupportedType", map[string]any{"n": struct{}{}}, "$.n: unsupported Go type struct {}"},
		{"RejectsMalformedNumber", map[string]any{"f": json.Number("1x")}, `$.f: malformed number "1x"`},
		{"RejectsTypedSlice", []string{"a"}, "$: unsupported Go type []string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkValueError(t, s.Validate(tc.value), tc.want)
		})
	}
	t.Run("NilSchemaAcceptsAnything", func(t *testing.T) {
		var none *DataSchema
		if err := none.Validate(struct{}{}); err != nil {
			t.Error(err)
		}
	})
}

func TestValidateJSONInput(t *testing.T) {
	var none *DataSchema
	str := &DataSchema{Type: TypeString}
	cases := []struct {
		name   string
		schema *DataSchema
		input  string
		want   string
	}{
		{"NilSchemaAcceptsNoValue", none, "", ""},
		{"NilSchemaAcceptsAnyValue", none, `{"a":1}`, ""},
		{"RejectsNoValue", str, "  \n", "$: no value"},
		{"RejectsTrailingData", str, `"a" "b"`, "$: malformed JSON: syntax error at offset 5: invalid character '\"' after top-level value"},
		{"RejectsMalformed", none, `{`, "$: malformed JSON: syntax error at offset 1: unexpected end of JSON input"},
		{"RejectsTooDeep", none, strings.Repeat("[", MaxDepth+1) + strings.Repeat("]", MaxDepth+1), "$: nesting depth exceeds 32"},
		{"AcceptsSurroundingWhitespace", str, " \"a\"\n", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkValueError(t, tc.schema.ValidateJSON([]byte(tc.input)), tc.want)
		})
	}
}

func TestValidateValueBoundsRecursion(t *testing.T) {
	t.Run("CyclicItems", func(t *testing.T) {
		s := &DataSchema{}
		s.Items = s
		var v any = "leaf"
		for range maxValueDepth + 5 {
			v = []any{v}
		}
		err := s.Validate(v)
		if err == nil || !strings.Contains(err.Error(), "nesting too deep") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("CyclicOneOf", func(t *testing.T) {
		s := &DataSchema{}
		s.OneOf = []*DataSchema{s}
		if err := s.Validate(1); err == nil || !strings.Contains(err.Error(), "nesting too deep") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("CyclicConstValue", func(t *testing.T) {
		m := map[string]any{}
		m["self"] = m
		s := &DataSchema{Const: m}
		if err := s.Validate(m); err == nil {
			t.Error("cyclic value matched")
		}
	})
}

func TestIsWholeDecimal(t *testing.T) {
	cases := []struct {
		in   string
		want bool
	}{
		{"0", true}, {"-0", true}, {"0.000", true}, {"10", true}, {"-10.00", true},
		{"1e3", true}, {"1.25e2", true}, {"1.25e1", false}, {"125e-2", false}, {"1200e-2", true},
		{"0.5", false}, {"1E+2", true}, {"1e-0", true}, {"0.0e-999999999999999999999", true},
		{"1e99999999999999999999", true}, {"1e-99999999999999999999", false},
		{"100000000000000000000000000001", true}, {"9007199254740993.5", false},
	}
	for _, tc := range cases {
		if got := isWholeDecimal(tc.in); got != tc.want {
			t.Errorf("isWholeDecimal(%s) = %v, want %v", tc.in, got, tc.want)
		}
	}
}

// BenchmarkValidateJSON checks an event payload of the kind a sensor sends
// against its schema, the hub's work for every AgentPublishEvent.
func BenchmarkValidateJSON(b *testing.B) {
	s := parseSchema(b, `{"type":"object","required":["seq"],"properties":{"seq":{"type":"integer"},"ts":{"type":"integer"},`+
		`"temp":{"type":"number","minimum":-40,"maximum":125},"unit":{"type":"string","pattern":"^(C|F)$"}}}`)
	payload := []byte(`{"seq":123456,"ts":1763750000000000000,"temp":21.5,"unit":"C"}`)
	b.ReportAllocs()
	for b.Loop() {
		if err := s.ValidateJSON(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkThingRoundTrip decodes and re-encodes a TD, the hub's work for
// every AgentUpdateTD (the twin TD is the agent's TD plus forms).
func BenchmarkThingRoundTrip(b *testing.B) {
	data, err := os.ReadFile("testdata/lamp.td.json")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		thing, err := Parse(data)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(thing); err != nil {
			b.Fatal(err)
		}
	}
}
