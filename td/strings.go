package td

import (
	"bytes"
	"encoding/json"
	"slices"
)

// Strings is a JSON value that is either one string or an array of strings,
// as used by "@type", "security" and "op". It encodes as a plain string when
// it holds exactly one element and as an array otherwise.
type Strings []string

// Contains reports whether v is one of the strings.
func (s Strings) Contains(v string) bool { return slices.Contains(s, v) }

// MarshalJSON encodes one element as a string, anything else as an array.
func (s Strings) MarshalJSON() ([]byte, error) {
	if len(s) == 1 {
		return marshalValue(s[0])
	}
	if s == nil {
		return []byte("null"), nil
	}
	return marshalValue([]string(s))
}

// UnmarshalJSON accepts a string, an array of strings, or null (nil).
func (s *Strings) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case "null":
		*s = nil
		return nil
	case "string":
		var v string
		if err := json.Unmarshal(data, &v); err != nil {
			return &decodeError{msg: err.Error()}
		}
		*s = Strings{v}
		return nil
	case "array":
		v := []string{}
		if err := json.Unmarshal(data, &v); err == nil {
			*s = v
			return nil
		}
	}
	return &decodeError{msg: "want string or array of strings, got " + describeKind(data)}
}

// describeKind names the JSON type of data, or says that it holds an array
// that is not made of strings.
func describeKind(data []byte) string {
	if k := jsonKind(data); k != "array" {
		return k
	}
	return "array with non-string elements"
}

// Context is the value of a TD's "@context": a single IRI string, or an
// array whose entries are IRI strings and objects mapping prefixes to IRIs
// (and other JSON-LD context members such as "@language").
//
// Every entry is kept verbatim (up to whitespace) through a decode/encode
// round trip, and a context decoded from an array is encoded as an array
// even when it has a single entry. The zero Context is absent.
type Context struct {
	entries []json.RawMessage
	array   bool
}

// NewContext returns a context made of the given IRIs: a single string for
// one IRI, an array for several.
func NewContext(iris ...string) Context {
	c := Context{array: len(iris) != 1}
	for _, iri := range iris {
		b, _ := marshalValue(iri) // strings always encode
		c.entries = append(c.entries, b)
	}
	return c
}

// IsZero reports whether the context is absent.
func (c Context) IsZero() bool { return len(c.entries) == 0 && !c.array }

// Has reports whether one of the string entries equals iri.
func (c Context) Has(iri string) bool { return slices.Contains(c.IRIs(), iri) }

// IRIs returns the string entries in order.
func (c Context) IRIs() []string {
	var out []string
	for _, e := range c.entries {
		if jsonKind(e) == "string" {
			var s string
			if json.Unmarshal(e, &s) == nil {
				out = append(out, s)
			}
		}
	}
	return out
}

// Prefix returns the IRI that an object entry maps prefix to.
func (c Context) Prefix(prefix string) (iri string, ok bool) {
	for _, e := range c.entries {
		m, isObject := contextObject(e)
		if !isObject {
			continue
		}
		if raw, found := m[prefix]; found && json.Unmarshal(raw, &iri) == nil {
			return iri, true
		}
	}
	return "", false
}

// SetPrefix makes an object entry map prefix to iri. It updates the first
// object entry that defines prefix, otherwise adds prefix to the first object
// entry, otherwise appends a new object entry. Afterwards the context encodes
// as an array. Entries other than the updated object are left verbatim; the
// updated object is re-encoded with sorted keys.
func (c *Context) SetPrefix(prefix, iri string) {
	c.array = true
	target := -1
	for i, e := range c.entries {
		m, isObject := contextObject(e)
		if !isObject {
			continue
		}
		if _, found := m[prefix]; found {
			target = i
			break
		}
		if target < 0 {
			target = i
		}
	}
	value, _ := marshalValue(iri) // strings always encode
	if target < 0 {
		obj, _ := marshalValue(map[string]json.RawMessage{prefix: value})
		c.entries = append(c.entries, obj)
		return
	}
	m, _ := contextObject(c.entries[target])
	if bytes.Equal(m[prefix], value) {
		return
	}
	m[prefix] = value
	obj, err := marshalValue(m)
	if err != nil {
		// Unreachable: the other members were decoded from valid JSON.
		return
	}
	c.entries[target] = obj
}

// contextObject decodes an object entry.
func contextObject(e json.RawMessage) (map[string]json.RawMessage, bool) {
	if jsonKind(e) != "object" {
		return nil, false
	}
	var m map[string]json.RawMessage
	if json.Unmarshal(e, &m) != nil || m == nil {
		return nil, false
	}
	return m, true
}

// entryKinds returns the JSON type of every entry, for Validate.
func (c Context) entryKinds() []string {
	kinds := make([]string, len(c.entries))
	for i, e := range c.entries {
		kinds[i] = jsonKind(e)
	}
	return kinds
}

// clone returns a deep copy of c.
func (c Context) clone() Context {
	out := Context{array: c.array}
	if c.entries != nil {
		out.entries = make([]json.RawMessage, len(c.entries))
		for i, e := range c.entries {
			out.entries[i] = bytes.Clone(e)
		}
	}
	return out
}

// MarshalJSON encodes a single non-array entry as itself and anything else
// as an array. The zero Context encodes as null.
func (c Context) MarshalJSON() ([]byte, error) {
	switch {
	case c.IsZero():
		return []byte("null"), nil
	case !c.array && len(c.entries) == 1:
		return marshalValue(c.entries[0])
	case c.entries == nil:
		return []byte("[]"), nil
	}
	return marshalValue(c.entries)
}

// UnmarshalJSON accepts a string, an object, an array of entries, or null
// (the zero Context).
func (c *Context) UnmarshalJSON(data []byte) error {
	switch jsonKind(data) {
	case "null":
		*c = Context{}
		return nil
	case "string", "object":
		if !json.Valid(data) {
			return &decodeError{msg: "malformed JSON"}
		}
		*c = Context{entries: []json.RawMessage{compactRaw(data)}}
		return nil
	case "array":
		entries := []json.RawMessage{}
		if err := json.Unmarshal(data, &entries); err != nil {
			return &decodeError{msg: err.Error()}
		}
		for i, e := range entries {
			entries[i] = compactRaw(e)
		}
		*c = Context{entries: entries, array: true}
		return nil
	}
	return &decodeError{msg: "want string, object or array, got " + jsonKind(data)}
}
