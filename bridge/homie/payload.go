package homie

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Errors of the payload conversions.
var (
	// ErrPayload is a Homie payload the property's datatype does not
	// allow.
	ErrPayload = errors.New("homie: invalid payload")
	// ErrValue is a twin value the property's datatype cannot carry.
	ErrValue = errors.New("homie: value does not fit the datatype")
)

// emptyString is how Homie 5 writes the empty string: one 0x00 byte (an
// empty payload would clear the retained topic).
const emptyString = "\x00"

var (
	integerRE  = regexp.MustCompile(`^-?[0-9]+$`)
	floatRE    = regexp.MustCompile(`^-?[0-9]*\.?[0-9]*([eE]-?[0-9]+)?$`)
	durationRE = regexp.MustCompile(`^PT(?:[0-9]+(?:\.[0-9]+)?H)?(?:[0-9]+(?:\.[0-9]+)?M)?(?:[0-9]+(?:\.[0-9]+)?S)?$`)
)

// FromHomie turns a payload a controller published on a property's /set
// topic into the JSON the twin takes (an action's input or a property's
// value); an action without input gets an empty payload. It checks the
// payload against the datatype and format (Homie 5, "Payloads").
func FromHomie(p *Property, payload []byte) ([]byte, error) {
	s := string(payload)
	if !utf8.ValidString(s) {
		return nil, fmt.Errorf("%w: not UTF-8", ErrPayload)
	}
	bad := func(want string) ([]byte, error) {
		return nil, fmt.Errorf("%w: %q is not %s", ErrPayload, clip(s), want)
	}
	switch p.Datatype {
	case "boolean":
		if s != "true" && s != "false" {
			return bad(`"true" or "false"`)
		}
		return []byte(s), nil
	case "integer":
		if !integerRE.MatchString(s) {
			return bad("an integer")
		}
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return bad("a 64-bit integer")
		}
		return strconv.AppendInt(nil, n, 10), nil
	case "float":
		if s == "" || s == "-" || s == "." || !floatRE.MatchString(s) {
			return bad("a float")
		}
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return bad("a finite float")
		}
		return json.Marshal(f)
	case "enum":
		if !slices.Contains(strings.Split(p.Format, ","), s) {
			return bad("one of " + p.Format)
		}
		if p.noInput {
			return nil, nil // an action without input, or an event's name
		}
		return json.Marshal(s)
	case "string":
		if s == emptyString {
			s = ""
		}
		return json.Marshal(s)
	case "datetime":
		if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
			return bad("an RFC 3339 date-time")
		}
		return json.Marshal(s)
	case "duration":
		if s == "PT" || !durationRE.MatchString(s) {
			return bad("an ISO 8601 duration (PTxHxMxS)")
		}
		return json.Marshal(s)
	case "json":
		var v any
		if err := json.Unmarshal(payload, &v); err != nil {
			return bad("JSON")
		}
		switch v.(type) {
		case map[string]any, []any:
		default:
			return bad("a JSON object or array")
		}
		var out bytes.Buffer
		if err := json.Compact(&out, payload); err != nil {
			return bad("JSON")
		}
		return out.Bytes(), nil
	}
	return nil, fmt.Errorf("%w: datatype %q", ErrPayload, p.Datatype)
}

// ToHomie turns a twin value (JSON) into the Homie payload of the
// property's datatype.
func ToHomie(p *Property, value []byte) ([]byte, error) {
	value = bytes.TrimSpace(value)
	if p.text {
		if len(value) == 0 {
			return []byte(emptyString), nil
		}
		var out bytes.Buffer
		if err := json.Compact(&out, value); err != nil {
			return nil, fmt.Errorf("%w: not JSON", ErrValue)
		}
		return out.Bytes(), nil
	}
	if p.noInput { // an event without data: its name
		return []byte(p.Format), nil
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(value))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, fmt.Errorf("%w: not JSON", ErrValue)
	}
	wrong := func() ([]byte, error) {
		return nil, fmt.Errorf("%w: %s is not %s", ErrValue, clip(string(value)), p.Datatype)
	}
	switch p.Datatype {
	case "boolean":
		if b, ok := v.(bool); ok {
			return []byte(strconv.FormatBool(b)), nil
		}
	case "integer":
		n, ok := v.(json.Number)
		if !ok {
			return wrong()
		}
		if i, err := n.Int64(); err == nil {
			return strconv.AppendInt(nil, i, 10), nil
		}
		if f, err := n.Float64(); err == nil && f == math.Trunc(f) && math.Abs(f) < 1<<63 {
			return strconv.AppendInt(nil, int64(f), 10), nil // 21.0
		}
	case "float":
		if n, ok := v.(json.Number); ok {
			// JSON's number is Homie's float but for a + in the exponent.
			return []byte(strings.NewReplacer("e+", "e", "E+", "E").Replace(n.String())), nil
		}
	case "enum", "string", "datetime", "duration":
		if s, ok := v.(string); ok {
			if s == "" {
				return []byte(emptyString), nil
			}
			return []byte(s), nil
		}
	case "json":
		switch v.(type) {
		case map[string]any, []any:
			var out bytes.Buffer
			if json.Compact(&out, value) == nil {
				return out.Bytes(), nil
			}
		}
	}
	return wrong()
}

func clip(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
