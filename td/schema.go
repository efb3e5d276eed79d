package td

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

// maxValueDepth bounds the recursion of value validation, counting both
// nested values and nested schemas (oneOf), so that cyclic or absurdly deep
// schemas and values fail instead of exhausting the stack.
const maxValueDepth = 4 * MaxDepth

// Validate checks a decoded JSON value against the schema: nil, bool,
// string, json.Number (or any Go integer or float type), []any and
// map[string]any. It returns nil or a *ValueError for the first violation,
// wrapping ErrInvalidValue. A nil schema accepts anything.
//
// Supported keywords: type (an integer is a number with no fractional part,
// and number accepts integers), const and enum (compared as JSON values,
// numbers by value), minimum, maximum, exclusiveMinimum, exclusiveMaximum,
// multipleOf, minLength and maxLength (in runes), pattern (unanchored,
// Go regexp syntax), minItems, maxItems, items (one schema or a tuple),
// properties and required (other properties are allowed), and oneOf
// (exactly one alternative must match).
func (s *DataSchema) Validate(value any) error {
	if s == nil {
		return nil
	}
	if err := s.validate(value, "$", 0); err != nil {
		return err // a non-nil *ValueError, never a typed nil
	}
	return nil
}

// ValidateJSON decodes raw, which must hold exactly one JSON value nested at
// most MaxDepth deep, and validates it. Empty input means "no value": it is
// accepted only by a nil schema, which also accepts any well-formed value.
// Malformed input is reported as a *ValueError at path $.
func (s *DataSchema) ValidateJSON(raw []byte) error {
	if len(bytes.TrimSpace(raw)) == 0 {
		if s == nil {
			return nil
		}
		return &ValueError{Path: "$", Message: "no value"}
	}
	if s.acceptsFast(raw) { // the common case, in one pass (fastvalue.go)
		return nil
	}
	return s.validateJSONFull(raw)
}

// validateJSONFull is ValidateJSON's full path, for what acceptsFast is
// not sure of: it decodes the value and words the error.
func (s *DataSchema) validateJSONFull(raw []byte) error {
	if err := checkDepth(raw, MaxDepth); err != nil {
		return &ValueError{Path: "$", Message: fmt.Sprintf("nesting depth exceeds %d", MaxDepth)}
	}
	if err := checkSyntax(raw); err != nil {
		msg := err.Error()
		if de, ok := errors.AsType[*decodeError](err); ok {
			msg = de.msg
		}
		return &ValueError{Path: "$", Message: "malformed JSON: " + msg}
	}
	value, err := decodeAny(raw)
	if err != nil {
		return &ValueError{Path: "$", Message: "malformed JSON: " + err.Error()}
	}
	if err := checkRange(value, "$"); err != nil {
		return err // also where no schema looks: nobody could read the value back
	}
	return s.Validate(value)
}

// checkRange refuses a number beyond float64's range anywhere in a decoded
// JSON value.
func checkRange(v any, p string) *ValueError {
	switch x := v.(type) {
	case json.Number:
		if f, ok := toFloat(x); ok && math.IsInf(f, 0) {
			return valueErrorf(p, "number %s is out of range (beyond ±1.8e308)", truncate(string(x)))
		}
	case []any:
		for i, e := range x {
			if err := checkRange(e, pathIndex(p, i)); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(x)) {
			if err := checkRange(x[k], pathKey(p, k)); err != nil {
				return err
			}
		}
	}
	return nil
}

// validate checks value at JSON path p.
func (s *DataSchema) validate(value any, p string, depth int) *ValueError {
	if depth > maxValueDepth {
		return &ValueError{Path: p, Message: "schema or value nesting too deep"}
	}
	kind, num, ok := classify(value)
	if !ok {
		if n, isNumber := value.(json.Number); isNumber {
			return valueErrorf(p, "malformed number %q", truncate(string(n)))
		}
		return valueErrorf(p, "unsupported Go type %T", value)
	}
	if kind == TypeNumber && math.IsInf(num, 0) {
		// 1e400 is a whole number as text, but no consumer can hold it:
		// beyond float64's range (and so beyond every JSON parser's that
		// reads numbers as doubles) it becomes ±Inf or an error.
		return valueErrorf(p, "number %s is out of range (beyond ±1.8e308)", truncate(formatValue(value)))
	}
	if s.Type != "" && !typeMatches(s.Type, kind, value) {
		got := kind
		if kind == TypeNumber && isInteger(value) {
			got = TypeInteger
		}
		return valueErrorf(p, "want %s, got %s", s.Type, got)
	}
	if s.Const != nil && !jsonEqual(value, s.Const, 0) {
		return valueErrorf(p, "want const %s, got %s", formatValue(s.Const), formatValue(value))
	}
	if s.Enum != nil && !slices.ContainsFunc(s.Enum, func(e any) bool { return jsonEqual(value, e, 0) }) {
		return valueErrorf(p, "%s is not one of %s", formatValue(value), formatValue(s.Enum))
	}
	var err *ValueError
	switch kind {
	case TypeNumber:
		err = s.validateNumber(value, num, p)
	case TypeString:
		err = s.validateString(value.(string), p)
	case TypeArray:
		err = s.validateArray(value.([]any), p, depth)
	case TypeObject:
		err = s.validateObject(value.(map[string]any), p, depth)
	}
	if err != nil {
		return err
	}
	return s.validateOneOf(value, p, depth)
}

func (s *DataSchema) validateNumber(value any, f float64, p string) *ValueError {
	v := func() string { return formatValue(value) } // only for a message
	switch {
	case s.Minimum != nil && f < *s.Minimum:
		return valueErrorf(p, "%s is below minimum %s", v(), formatFloat(*s.Minimum))
	case s.Maximum != nil && f > *s.Maximum:
		return valueErrorf(p, "%s is above maximum %s", v(), formatFloat(*s.Maximum))
	case s.ExclusiveMinimum != nil && f <= *s.ExclusiveMinimum:
		return valueErrorf(p, "%s is not above exclusiveMinimum %s", v(), formatFloat(*s.ExclusiveMinimum))
	case s.ExclusiveMaximum != nil && f >= *s.ExclusiveMaximum:
		return valueErrorf(p, "%s is not below exclusiveMaximum %s", v(), formatFloat(*s.ExclusiveMaximum))
	case s.MultipleOf != nil && *s.MultipleOf > 0 && !isMultiple(f, *s.MultipleOf):
		return valueErrorf(p, "%s is not a multiple of %s", v(), formatFloat(*s.MultipleOf))
	}
	return nil
}

// isMultiple reports whether f is a whole multiple of m, tolerating the
// rounding of decimal fractions such as 0.3 / 0.1.
func isMultiple(f, m float64) bool {
	q := f / m
	if math.IsInf(q, 0) || math.IsNaN(q) {
		return false
	}
	return math.Abs(q-math.Round(q)) <= 1e-9*math.Max(1, math.Abs(q))
}

func (s *DataSchema) validateString(v string, p string) *ValueError {
	if s.MinLength != nil || s.MaxLength != nil {
		n := utf8.RuneCountInString(v)
		if s.MinLength != nil && n < *s.MinLength {
			return valueErrorf(p, "length %d is below minLength %d", n, *s.MinLength)
		}
		if s.MaxLength != nil && n > *s.MaxLength {
			return valueErrorf(p, "length %d is above maxLength %d", n, *s.MaxLength)
		}
	}
	if s.Pattern != "" {
		re, err := compilePattern(s.Pattern)
		if err != nil {
			return valueErrorf(p, "schema pattern %q is invalid: %v", truncate(s.Pattern), err)
		}
		if !re.MatchString(v) {
			return valueErrorf(p, "%s does not match pattern %q", formatValue(v), truncate(s.Pattern))
		}
	}
	return nil
}

func (s *DataSchema) validateArray(v []any, p string, depth int) *ValueError {
	if s.MinItems != nil && len(v) < *s.MinItems {
		return valueErrorf(p, "%d items is below minItems %d", len(v), *s.MinItems)
	}
	if s.MaxItems != nil && len(v) > *s.MaxItems {
		return valueErrorf(p, "%d items is above maxItems %d", len(v), *s.MaxItems)
	}
	for i, e := range v {
		item := s.Items
		if s.Items == nil && i < len(s.ItemsTuple) {
			item = s.ItemsTuple[i]
		}
		if item == nil {
			continue
		}
		// Paths are built only for an error: a child reports its path
		// relative to itself and each parent prepends its step.
		if err := item.validate(e, "", depth+1); err != nil {
			err.Path = pathIndex(p, i) + err.Path
			return err
		}
	}
	return nil
}

func (s *DataSchema) validateObject(v map[string]any, p string, depth int) *ValueError {
	for _, name := range s.Required {
		if _, ok := v[name]; !ok {
			return valueErrorf(pathKey(p, name), "required property missing")
		}
	}
	// The error reported is that of the first failing property in name
	// order, without sorting the names when every property is valid.
	var first *ValueError
	firstName := ""
	for name, sub := range s.Properties {
		member, ok := v[name]
		if !ok || sub == nil || (first != nil && name > firstName) {
			continue
		}
		if err := sub.validate(member, "", depth+1); err != nil {
			first, firstName = err, name
		}
	}
	if first != nil {
		first.Path = pathKey(p, firstName) + first.Path
		return first
	}
	return nil
}

func (s *DataSchema) validateOneOf(value any, p string, depth int) *ValueError {
	if s.OneOf == nil {
		return nil
	}
	matches := 0
	var first *ValueError
	for _, alt := range s.OneOf {
		if alt == nil {
			matches++
			continue
		}
		err := alt.validate(value, p, depth+1)
		if err == nil {
			matches++
		} else if first == nil {
			first = err
		}
	}
	switch {
	case matches == 1:
		return nil
	case matches == 0 && len(s.OneOf) == 1:
		return first
	}
	return valueErrorf(p, "matches %d of %d oneOf schemas, want exactly 1", matches, len(s.OneOf))
}

// classify returns the JSON type of a decoded value (null, boolean, number,
// string, array or object) and, for numbers, its float64 value.
func classify(v any) (kind string, num float64, ok bool) {
	switch v.(type) {
	case nil:
		return TypeNull, 0, true
	case bool:
		return TypeBoolean, 0, true
	case string:
		return TypeString, 0, true
	case []any:
		return TypeArray, 0, true
	case map[string]any:
		return TypeObject, 0, true
	}
	if f, ok := toFloat(v); ok {
		return TypeNumber, f, true
	}
	return "", 0, false
}

// toFloat converts a numeric value to float64. Numbers beyond float64's
// range become ±Inf.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case json.Number:
		if !isJSONNumber(string(x)) {
			return 0, false
		}
		f, _ := strconv.ParseFloat(string(x), 64)
		return f, true
	case float64:
		return x, !math.IsNaN(x)
	case float32:
		return float64(x), !math.IsNaN(float64(x))
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	}
	return 0, false
}

// typeMatches reports whether a value of JSON kind matches a schema type.
func typeMatches(want, kind string, value any) bool {
	switch want {
	case TypeInteger:
		return kind == TypeNumber && isInteger(value)
	case TypeNumber:
		return kind == TypeNumber
	}
	return want == kind
}

// isInteger reports whether a numeric value has no fractional part. JSON
// numbers are inspected as decimal text, so 1.0 and 1e2 are integers and
// large values do not lose precision.
func isInteger(v any) bool {
	switch x := v.(type) {
	case json.Number:
		return isWholeDecimal(string(x))
	case float64:
		return !math.IsInf(x, 0) && x == math.Trunc(x)
	case float32:
		f := float64(x)
		return !math.IsInf(f, 0) && f == math.Trunc(f)
	}
	_, ok := toFloat(v)
	return ok
}

// isWholeDecimal reports whether the JSON number s has no fractional part.
func isWholeDecimal(s string) bool {
	mantissa, exp, _ := strings.Cut(strings.ToLower(strings.TrimPrefix(s, "-")), "e")
	intPart, frac, _ := strings.Cut(mantissa, ".")
	// The significant digits, with the decimal point after pos of them.
	digits := strings.TrimRight(intPart+frac, "0")
	if strings.Trim(digits, "0") == "" {
		return true // zero
	}
	pos := len(intPart)
	if exp != "" {
		e, err := strconv.Atoi(exp)
		switch {
		case err != nil && strings.HasPrefix(exp, "-"):
			return false // an enormous negative exponent: a tiny fraction
		case err != nil:
			return true // an enormous positive exponent
		}
		pos += e
	}
	return len(digits) <= pos
}

// isJSONNumber reports whether s is a JSON number literal.
func isJSONNumber(s string) bool {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return false
	}
	return json.Valid([]byte(s))
}

// jsonEqual reports whether two decoded JSON values are equal: numbers by
// value, arrays element-wise, objects member-wise.
func jsonEqual(a, b any, depth int) bool {
	if depth > maxValueDepth {
		return false
	}
	ka, fa, oka := classify(a)
	kb, fb, okb := classify(b)
	if !oka || !okb || ka != kb {
		return false
	}
	switch ka {
	case TypeNull:
		return true
	case TypeBoolean:
		return a.(bool) == b.(bool)
	case TypeString:
		return a.(string) == b.(string)
	case TypeNumber:
		return fa == fb
	case TypeArray:
		x, y := a.([]any), b.([]any)
		if len(x) != len(y) {
			return false
		}
		for i := range x {
			if !jsonEqual(x[i], y[i], depth+1) {
				return false
			}
		}
		return true
	case TypeObject:
		x, y := a.(map[string]any), b.(map[string]any)
		if len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !jsonEqual(xv, yv, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}

// formatValue renders a value as compact JSON for a message, shortened if
// long.
func formatValue(v any) string {
	b, err := marshalValue(v)
	if err != nil {
		// Not JSON (a cycle, NaN, ...); fmt could recurse forever too.
		return fmt.Sprintf("(%T)", v)
	}
	return truncate(string(b))
}

// valueErrorf builds a *ValueError.
func valueErrorf(p, format string, args ...any) *ValueError {
	return &ValueError{Path: p, Message: fmt.Sprintf(format, args...)}
}

// patterns caches compiled schema patterns: a TD's schemas are checked
// against every value its agent sends. The cache stops growing at
// maxPatterns entries; patterns beyond are compiled at each use.
var (
	patternMu sync.Mutex
	patterns  = map[string]*regexp.Regexp{}
)

const maxPatterns = 4096

// compilePattern compiles a schema's pattern (RE2 syntax), once.
func compilePattern(pattern string) (*regexp.Regexp, error) {
	patternMu.Lock()
	re, ok := patterns[pattern]
	patternMu.Unlock()
	if ok {
		return re, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, err
	}
	patternMu.Lock()
	if len(patterns) < maxPatterns {
		patterns[pattern] = re
	}
	patternMu.Unlock()
	return re, nil
}
