package td

import (
	"encoding/json"
	"unicode/utf8"
)

// decodeAny decodes one well-formed JSON value (json.Valid holds for
// raw) into what encoding/json's Decoder with UseNumber gives for an
// `any`: map[string]any, []any, json.Number, string, bool or nil.
//
// It is the hot path of value validation (every event and property value
// an agent publishes): a Decoder costs about 2 KiB of allocations per value
// (its buffer and scanner), this only what the result holds. Strings with
// escapes or non-ASCII bytes are decoded by encoding/json itself, so every
// rule of its unquoting (surrogate pairs, U+FFFD for invalid UTF-8) stays
// the same; FuzzDecodeAny compares the two on any input.
func decodeAny(raw []byte) (any, error) {
	d := valueDecoder{data: raw}
	d.space()
	return d.value()
}

type valueDecoder struct {
	data []byte
	pos  int
}

func (d *valueDecoder) space() {
	for d.pos < len(d.data) {
		switch d.data[d.pos] {
		case ' ', '\t', '\n', '\r':
			d.pos++
		default:
			return
		}
	}
}

// value decodes the value at pos, which is not whitespace.
func (d *valueDecoder) value() (any, error) {
	switch c := d.data[d.pos]; {
	case c == '{':
		return d.object()
	case c == '[':
		return d.array()
	case c == '"':
		return d.string()
	case c == 't':
		d.pos += len("true")
		return true, nil
	case c == 'f':
		d.pos += len("false")
		return false, nil
	case c == 'n':
		d.pos += len("null")
		return nil, nil
	default:
		start := d.pos
		for d.pos < len(d.data) && isNumberByte(d.data[d.pos]) {
			d.pos++
		}
		return json.Number(d.data[start:d.pos]), nil
	}
}

func (d *valueDecoder) object() (any, error) {
	m := map[string]any{}
	d.pos++ // {
	d.space()
	if d.data[d.pos] == '}' {
		d.pos++
		return m, nil
	}
	for {
		d.space()
		k, err := d.string()
		if err != nil {
			return nil, err
		}
		d.space()
		d.pos++ // :
		d.space()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		m[k] = v
		d.space()
		c := d.data[d.pos]
		d.pos++ // , or }
		if c == '}' {
			return m, nil
		}
	}
}

func (d *valueDecoder) array() (any, error) {
	a := []any{}
	d.pos++ // [
	d.space()
	if d.data[d.pos] == ']' {
		d.pos++
		return a, nil
	}
	for {
		d.space()
		v, err := d.value()
		if err != nil {
			return nil, err
		}
		a = append(a, v)
		d.space()
		c := d.data[d.pos]
		d.pos++ // , or ]
		if c == ']' {
			return a, nil
		}
	}
}

// string decodes the string at pos: plain ASCII directly, anything else
// through encoding/json.
func (d *valueDecoder) string() (string, error) {
	start := d.pos
	d.pos++ // "
	plain := true
	for {
		c := d.data[d.pos]
		switch {
		case c == '"':
			d.pos++
			if plain {
				return string(d.data[start+1 : d.pos-1]), nil
			}
			var s string
			err := json.Unmarshal(d.data[start:d.pos], &s)
			return s, err
		case c == '\\':
			plain = false
			d.pos += 2 // the escaped byte is never the closing quote
		case c >= utf8.RuneSelf:
			plain = false
			d.pos++
		default:
			d.pos++
		}
	}
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}
