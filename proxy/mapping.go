package proxy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/wotmq/wotmq/td"
)

// Form members of the payload mappings (docs/brownfield.md).
const (
	// PointerMember ("wotmq:pointer") is a JSON Pointer (RFC 6901): on a
	// form the hub reads, the part of the device's JSON message that is the
	// value ("/temperature"); on a command form, where the value goes in the
	// JSON object the hub sends ("/state" sends {"state": value}).
	PointerMember = "wotmq:pointer"
	// MapMember ("wotmq:map") maps the device's words to the twin's values,
	// both ways: {"ON": true, "OFF": false}.
	MapMember = "wotmq:map"
	// PayloadMember ("wotmq:payload") is the fixed text a command form
	// sends when the request has no input ("TOGGLE").
	PayloadMember = "wotmq:payload"
)

// codec maps a device's payloads on one form to the twin's JSON values
// and back, as the form's contentType and mapping members say.
type codec struct {
	text    bool     // text/plain (or another text/* type): the payload is a bare word or number
	pointer []string // the JSON Pointer's reference tokens; nil for the whole message
	vmap    map[string]json.RawMessage
	fixed   []byte // a command's payload when the request has no input
	schema  *td.DataSchema
}

// newCodec reads a form's mapping members; schema is the affordance's
// value schema (nil for none).
func newCodec(f *td.Form, schema *td.DataSchema) (codec, error) {
	c := codec{schema: schema}
	switch mt := mediaType(f.ContentType); {
	case mt == "" || mt == "application/json" || strings.HasSuffix(mt, "+json"):
	case mt == "text/plain" || strings.HasPrefix(mt, "text/"):
		c.text = true
	default:
		return c, fmt.Errorf("contentType %q: the proxy maps application/json and text/plain", f.ContentType)
	}
	if raw, ok := f.Extra[PointerMember]; ok {
		var p string
		if err := json.Unmarshal(raw, &p); err != nil {
			return c, fmt.Errorf("%s: want a JSON Pointer string such as \"/temperature\"", PointerMember)
		}
		toks, err := parsePointer(p)
		if err != nil {
			return c, fmt.Errorf("%s: %w", PointerMember, err)
		}
		if c.text && len(toks) > 0 {
			return c, fmt.Errorf("%s needs a JSON contentType, not %q", PointerMember, f.ContentType)
		}
		c.pointer = toks
	}
	if raw, ok := f.Extra[MapMember]; ok {
		if err := json.Unmarshal(raw, &c.vmap); err != nil || len(c.vmap) == 0 {
			return c, fmt.Errorf("%s: want an object from the device's words to values, such as {\"ON\": true, \"OFF\": false}", MapMember)
		}
	}
	if raw, ok := f.Extra[PayloadMember]; ok {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return c, fmt.Errorf("%s: want a string", PayloadMember)
		}
		c.fixed = []byte(s)
	}
	return c, nil
}

func mediaType(ct string) string {
	if ct == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

// parsePointer splits a JSON Pointer into its reference tokens (RFC 6901
// section 3: "" is the whole document, each token follows a "/", with ~1
// for "/" and ~0 for "~").
func parsePointer(p string) ([]string, error) {
	if p == "" {
		return nil, nil
	}
	if p[0] != '/' {
		return nil, fmt.Errorf("%q does not start with \"/\"", p)
	}
	toks := strings.Split(p[1:], "/")
	for i, t := range toks {
		if strings.Contains(strings.ReplaceAll(strings.ReplaceAll(t, "~0", ""), "~1", ""), "~") {
			return nil, fmt.Errorf("%q: \"~\" must be followed by 0 or 1", p)
		}
		toks[i] = strings.ReplaceAll(strings.ReplaceAll(t, "~1", "/"), "~0", "~")
	}
	return toks, nil
}

// errAbsent reports a message without the member a pointer names: a
// partial update (Zigbee2MQTT sends only what changed) that carries no
// value for this affordance.
var errAbsent = fmt.Errorf("proxy: no value at the pointer")

// decode turns a device's payload into the twin's JSON value. A message
// that lacks the member its pointer names returns errAbsent.
func (c codec) decode(payload []byte) ([]byte, error) {
	if !utf8.Valid(payload) {
		return nil, fmt.Errorf("payload is not UTF-8")
	}
	if c.text {
		return c.decodeText(strings.TrimSpace(string(payload)))
	}
	v, err := decodeJSON(payload)
	if err != nil {
		return nil, fmt.Errorf("payload is not JSON (contentType application/json)")
	}
	for _, tok := range c.pointer {
		switch x := v.(type) {
		case map[string]any:
			m, ok := x[tok]
			if !ok {
				return nil, errAbsent
			}
			v = m
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) || (len(tok) > 1 && tok[0] == '0') {
				return nil, errAbsent
			}
			v = x[i]
		default:
			return nil, errAbsent
		}
	}
	if s, ok := v.(string); ok && c.vmap != nil {
		if mapped, ok := c.vmap[s]; ok {
			return compact(mapped), nil
		}
	}
	return json.Marshal(v)
}

// decodeText reads a bare word or number by the value schema's type.
func (c codec) decodeText(s string) ([]byte, error) {
	if mapped, ok := c.vmap[s]; ok {
		return compact(mapped), nil
	}
	typ := ""
	if c.schema != nil {
		typ = c.schema.Type
	}
	switch typ {
	case "number", "integer":
		if _, err := strconv.ParseFloat(s, 64); err != nil || !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("%q is not a number", clip(s))
		}
		return []byte(s), nil
	case "boolean":
		switch strings.ToLower(s) {
		case "true", "on", "1", "yes":
			return []byte("true"), nil
		case "false", "off", "0", "no":
			return []byte("false"), nil
		}
		return nil, fmt.Errorf("%q is not a boolean (true/false, on/off, 1/0, yes/no; or give %s)", clip(s), MapMember)
	case "object", "array", "null":
		if !json.Valid([]byte(s)) {
			return nil, fmt.Errorf("%q is not a JSON %s", clip(s), typ)
		}
		return compact([]byte(s)), nil
	}
	return json.Marshal(s)
}

// encode turns a request's input (JSON, nil for none) into the payload
// of the device's command.
func (c codec) encode(input []byte) ([]byte, error) {
	if len(input) == 0 {
		if c.fixed != nil {
			return c.fixed, nil
		}
		if c.text {
			return []byte{}, nil
		}
		input = []byte("null")
	}
	v, err := decodeJSON(input)
	if err != nil {
		return nil, fmt.Errorf("input is not JSON")
	}
	for word, mapped := range c.vmap {
		if w, err := decodeJSON(mapped); err == nil && equalJSON(w, v) {
			v = word
			break
		}
	}
	if c.text {
		if s, ok := v.(string); ok {
			return []byte(s), nil
		}
		return json.Marshal(v)
	}
	for i := len(c.pointer) - 1; i >= 0; i-- {
		v = map[string]any{c.pointer[i]: v}
	}
	return json.Marshal(v)
}

func decodeJSON(b []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if d.More() {
		return nil, fmt.Errorf("more than one JSON value")
	}
	if _, err := d.Token(); err == nil {
		return nil, fmt.Errorf("more than one JSON value")
	}
	return v, nil
}

// equalJSON compares decoded JSON values, numbers by value.
func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if bytes.Equal(x, y) {
		return true
	}
	na, ok1 := a.(json.Number)
	nb, ok2 := b.(json.Number)
	if ok1 && ok2 {
		fa, e1 := na.Float64()
		fb, e2 := nb.Float64()
		return e1 == nil && e2 == nil && fa == fb
	}
	return false
}

func compact(b []byte) []byte {
	var buf bytes.Buffer
	if json.Compact(&buf, b) != nil {
		return b
	}
	return buf.Bytes()
}

// clip shortens a device's text for an error message.
func clip(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}
