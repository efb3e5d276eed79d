package td

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

// MaxDepth is the deepest nesting of JSON objects and arrays that Parse and
// the UnmarshalJSON methods accept; the TD object itself is level 1. It
// also bounds the recursion of Validate and DataSchema.ValidateJSON.
const MaxDepth = 32

// codec is implemented by the structs encoded by encodeObject and decoded by
// decodeObject.
type codec interface{ tdCodec() }

// isCodec reports whether t is one of this package's object structs.
func isCodec(t reflect.Type) bool {
	return t.Kind() == reflect.Struct && t.Implements(reflect.TypeFor[codec]())
}

// member is one JSON member of a codec struct.
type member struct {
	name  string // JSON member name
	index []int  // field index path, through embedded structs
}

// layout describes how a codec struct maps to a JSON object.
type layout struct {
	members  []member // in declaration order, embedded structs flattened
	extra    []int    // index of the struct's own Extra field, or nil
	embedded [][]int  // Extra fields of embedded structs
	known    map[string]int
}

// layouts caches layoutOf per type: there are a handful of codec structs,
// and recomputing a layout for every object of every TD made encoding a
// TD cost over a millisecond (BenchmarkThingRoundTrip).
var layouts sync.Map // reflect.Type -> *layout

// layoutOf returns the layout of the codec struct type t. The result is
// shared: read only.
func layoutOf(t reflect.Type) *layout {
	if l, ok := layouts.Load(t); ok {
		return l.(*layout)
	}
	l, _ := layouts.LoadOrStore(t, computeLayout(t))
	return l.(*layout)
}

// computeLayout computes the layout of the codec struct type t.
func computeLayout(t reflect.Type) *layout {
	l := new(layout)
	l.known = make(map[string]int)
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			index := append(slices.Clone(prefix), i)
			tag := f.Tag.Get("td")
			switch {
			case f.Anonymous && f.Type.Kind() == reflect.Struct && tag == "":
				walk(f.Type, index)
			case f.Name == "Extra" && f.Type == reflect.TypeFor[map[string]json.RawMessage]():
				if len(prefix) == 0 {
					l.extra = index
				} else {
					l.embedded = append(l.embedded, index)
				}
			case tag != "" && tag != "-":
				name, _, _ := strings.Cut(tag, ",")
				l.members = append(l.members, member{name: name, index: index})
				l.known[name]++
			}
		}
	}
	walk(t, nil)
	return l
}

// decodeRoot decodes data, which must be a JSON object nested at most
// MaxDepth deep, into the codec struct v, replacing its content. If nullOK,
// a JSON null leaves v unchanged, as encoding/json expects of UnmarshalJSON
// methods.
func decodeRoot(data []byte, v reflect.Value, nullOK bool) error {
	if err := checkDepth(data, MaxDepth); err != nil {
		return err
	}
	if err := checkSyntax(data); err != nil {
		return err
	}
	if kind := jsonKind(data); kind != "object" {
		if kind == "null" && nullOK {
			return nil
		}
		return &decodeError{path: "$", msg: "want object, got " + kind}
	}
	v.SetZero()
	return decodeObject(data, v, "$")
}

// checkSyntax reports whether data is exactly one well-formed JSON value.
func checkSyntax(data []byte) error {
	if json.Valid(data) {
		return nil
	}
	var raw json.RawMessage
	err := json.Unmarshal(data, &raw)
	if se, ok := errors.AsType[*json.SyntaxError](err); ok {
		return &decodeError{msg: fmt.Sprintf("syntax error at offset %d: %v", se.Offset, se)}
	}
	if err == nil {
		err = errors.New("malformed JSON")
	}
	return &decodeError{msg: err.Error()}
}

// checkDepth rejects data in which objects and arrays nest deeper than max.
// It scans the bytes once, tracking strings, and does not check the rest of
// the syntax.
func checkDepth(data []byte, max int) error {
	depth := 0
	inString, escaped := false, false
	for _, c := range data {
		switch {
		case inString:
			switch {
			case escaped:
				escaped = false
			case c == '\\':
				escaped = true
			case c == '"':
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			depth++
			if depth > max {
				return &decodeError{msg: fmt.Sprintf("nesting depth exceeds %d", max)}
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return nil
}

// jsonKind names the JSON type of the well-formed value raw: object, array,
// string, number, boolean or null.
func jsonKind(raw []byte) string {
	raw = bytes.TrimLeft(raw, " \t\r\n")
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	return "number"
}

// wantKind names the JSON type that decodes into Go type t.
func wantKind(t reflect.Type) string {
	switch t {
	case reflect.TypeFor[Strings]():
		return "string or array of strings"
	case reflect.TypeFor[Context]():
		return "string, object or array"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return wantKind(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "integer"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	case reflect.Map, reflect.Struct:
		return "object"
	}
	return "value"
}

// decodeObject decodes the JSON object data into the codec struct v, whose
// JSON path is p. Members that no field claims go to v's Extra.
func decodeObject(data []byte, v reflect.Value, p string) error {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(data, &members); err != nil || members == nil {
		return &decodeError{path: p, msg: "want object, got " + jsonKind(data)}
	}
	l := layoutOf(v.Type())
	claimed := make(map[string]bool, len(members))
	for _, m := range l.members {
		raw, ok := members[m.name]
		if !ok {
			continue
		}
		f := v.FieldByIndex(m.index)
		if l.known[m.name] > 1 && !accepts(f.Type(), raw) {
			continue
		}
		if err := decodeValue(raw, f, pathKey(p, m.name)); err != nil {
			return err
		}
		claimed[m.name] = true
	}
	// A member shared by several fields that none of them accepts is
	// decoded into the first one, to report its type error.
	for _, m := range l.members {
		if raw, ok := members[m.name]; ok && !claimed[m.name] {
			if err := decodeValue(raw, v.FieldByIndex(m.index), pathKey(p, m.name)); err != nil {
				return err
			}
			claimed[m.name] = true
		}
	}
	if l.extra == nil {
		return nil
	}
	var extra map[string]json.RawMessage
	for name, raw := range members {
		if l.known[name] == 0 {
			if extra == nil {
				extra = make(map[string]json.RawMessage)
			}
			extra[name] = compactRaw(raw)
		}
	}
	v.FieldByIndex(l.extra).Set(reflect.ValueOf(extra))
	return nil
}

// accepts reports whether a JSON value like raw belongs in a field of type t
// when several fields share a member name: arrays go to slice fields, other
// values to the rest.
func accepts(t reflect.Type, raw []byte) bool {
	switch jsonKind(raw) {
	case "null":
		return true
	case "array":
		return t.Kind() == reflect.Slice
	}
	return t.Kind() != reflect.Slice
}

// decodeValue decodes raw into the addressable value v, at JSON path p.
// Codec structs, pointers to them, maps and slices are walked here so that
// errors carry the full path; other values are handed to encoding/json,
// with numbers in interface values decoded as json.Number.
func decodeValue(raw json.RawMessage, v reflect.Value, p string) error {
	t := v.Type()
	switch {
	case jsonKind(raw) == "null":
		v.SetZero()
		return nil
	case isCodec(t):
		v.SetZero()
		return decodeObject(raw, v, p)
	case t.Kind() == reflect.Pointer && isCodec(t.Elem()):
		n := reflect.New(t.Elem())
		if err := decodeObject(raw, n.Elem(), p); err != nil {
			return err
		}
		v.Set(n)
		return nil
	case t.Kind() == reflect.Map && walkedContainer(t):
		var m map[string]json.RawMessage
		if err := json.Unmarshal(raw, &m); err != nil {
			return &decodeError{path: p, msg: "want object, got " + jsonKind(raw)}
		}
		out := reflect.MakeMapWithSize(t, len(m))
		for _, k := range slices.Sorted(maps.Keys(m)) {
			e := reflect.New(t.Elem()).Elem()
			if err := decodeValue(m[k], e, pathKey(p, k)); err != nil {
				return err
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(t.Key()), e)
		}
		v.Set(out)
		return nil
	case t.Kind() == reflect.Slice && walkedContainer(t):
		var a []json.RawMessage
		if err := json.Unmarshal(raw, &a); err != nil {
			return &decodeError{path: p, msg: "want array, got " + jsonKind(raw)}
		}
		out := reflect.MakeSlice(t, len(a), len(a))
		for i, r := range a {
			if err := decodeValue(r, out.Index(i), pathIndex(p, i)); err != nil {
				return err
			}
		}
		v.Set(out)
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	err := dec.Decode(v.Addr().Interface())
	if err == nil {
		return nil
	}
	if de, ok := errors.AsType[*decodeError](err); ok {
		return &decodeError{path: p, msg: de.msg}
	}
	if ute, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		return typeError(p, ute)
	}
	return &decodeError{path: p, msg: err.Error()}
}

// typeError converts an encoding/json type error into a decodeError.
func typeError(p string, e *json.UnmarshalTypeError) error {
	if e.Field != "" {
		for seg := range strings.SplitSeq(e.Field, ".") {
			p = pathKey(p, seg)
		}
	}
	got := e.Value
	want := "value"
	if e.Type != nil {
		want = wantKind(e.Type)
	}
	switch {
	case got == "bool":
		got = "boolean"
	case strings.HasPrefix(got, "number ") && want == "number":
		return &decodeError{path: p, msg: truncate(got) + " is out of range"}
	}
	return &decodeError{path: p, msg: "want " + want + ", got " + truncate(got)}
}

// walkedContainer reports whether decodeValue walks the map or slice type t
// element by element, so that errors name the member or index: maps with
// string keys and slices, except those with their own UnmarshalJSON
// (Strings, json.RawMessage) and those of interface or byte elements.
func walkedContainer(t reflect.Type) bool {
	if reflect.PointerTo(t).Implements(reflect.TypeFor[json.Unmarshaler]()) {
		return false
	}
	switch t.Elem().Kind() {
	case reflect.Interface, reflect.Uint8:
		return false
	}
	return t.Kind() == reflect.Slice || t.Key().Kind() == reflect.String
}

// encodeObject encodes the codec struct v as a JSON object with sorted
// member names. Empty members are omitted. Extra members are merged in
// (embedded structs' Extra first, then v's own), but never override a field
// of the struct, even an empty one.
func encodeObject(v reflect.Value) ([]byte, error) {
	l := layoutOf(v.Type())
	out := make(map[string][]byte)
	extras := l.embedded
	if l.extra != nil {
		extras = append(extras[:len(extras):len(extras)], l.extra)
	}
	for _, index := range extras {
		for name, raw := range v.FieldByIndex(index).Interface().(map[string]json.RawMessage) {
			if l.known[name] > 0 {
				continue
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, raw); err != nil {
				return nil, fmt.Errorf("%w %q: %s", ErrInvalidExtra, name, truncate(string(raw)))
			}
			out[name] = buf.Bytes()
		}
	}
	for _, m := range l.members {
		f := v.FieldByIndex(m.index)
		if _, done := out[m.name]; done || isEmpty(f) { // the first non-empty field of a shared name wins
			continue
		}
		b, err := encodeValue(f)
		if err != nil {
			return nil, fmt.Errorf("td: encoding %q: %w", m.name, err)
		}
		out[m.name] = b
	}
	return writeObject(out), nil
}

// encodeValue encodes a member's value. Codec structs, and the maps,
// slices and pointers that hold them, are encoded here: through
// encoding/json, the output of every nested MarshalJSON would be checked
// and compacted again at each level above it.
func encodeValue(v reflect.Value) ([]byte, error) {
	t := v.Type()
	switch {
	case isCodec(t):
		return encodeObject(v)
	case t.Kind() == reflect.Pointer && isCodec(t.Elem()):
		if v.IsNil() {
			return []byte("null"), nil
		}
		return encodeObject(v.Elem())
	case t.Kind() == reflect.Map && t.Key().Kind() == reflect.String && holdsCodec(t.Elem()):
		if v.IsNil() {
			return []byte("null"), nil
		}
		out := make(map[string][]byte, v.Len())
		for it := v.MapRange(); it.Next(); {
			b, err := encodeValue(it.Value())
			if err != nil {
				return nil, err
			}
			out[it.Key().String()] = b
		}
		return writeObject(out), nil
	case t.Kind() == reflect.Slice && holdsCodec(t.Elem()):
		if v.IsNil() {
			return []byte("null"), nil
		}
		var buf bytes.Buffer
		buf.WriteByte('[')
		for i := range v.Len() {
			if i > 0 {
				buf.WriteByte(',')
			}
			b, err := encodeValue(v.Index(i))
			if err != nil {
				return nil, err
			}
			buf.Write(b)
		}
		buf.WriteByte(']')
		return buf.Bytes(), nil
	}
	return marshalValue(v.Interface())
}

// holdsCodec reports whether t is a codec struct or a pointer to one.
func holdsCodec(t reflect.Type) bool {
	return isCodec(t) || t.Kind() == reflect.Pointer && isCodec(t.Elem())
}

// writeObject writes members, each already encoded as compact JSON, as a
// JSON object with sorted member names.
func writeObject(members map[string][]byte) []byte {
	size := 2
	for name, b := range members {
		size += len(name) + len(b) + 4
	}
	buf := bytes.NewBuffer(make([]byte, 0, size))
	buf.WriteByte('{')
	for i, name := range slices.Sorted(maps.Keys(members)) {
		if i > 0 {
			buf.WriteByte(',')
		}
		writeString(buf, name)
		buf.WriteByte(':')
		buf.Write(members[name])
	}
	buf.WriteByte('}')
	return buf.Bytes()
}

// writeString writes s as a JSON string, as marshalValue would.
func writeString(buf *bytes.Buffer, s string) {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			b, _ := marshalValue(s) // escapes, invalid UTF-8, U+2028/2029
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}

// isEmpty reports whether a field is absent for encoding: false, "", nil,
// or a zero Context. Empty but non-nil slices and maps are kept, so that
// "enum": [] survives a round trip and is reported by Validate.
func isEmpty(v reflect.Value) bool {
	switch v.Kind() {
	case reflect.Bool:
		return !v.Bool()
	case reflect.String:
		return v.Len() == 0
	case reflect.Pointer, reflect.Interface, reflect.Map, reflect.Slice:
		return v.IsNil()
	case reflect.Struct:
		if c, ok := v.Interface().(Context); ok {
			return c.IsZero()
		}
		return v.IsZero()
	}
	return v.IsZero()
}

// marshalValue is json.Marshal without HTML escaping and without the
// trailing newline of json.Encoder.
func marshalValue(x any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// compactRaw returns a compact copy of the well-formed JSON value raw, so
// that decoded Extra members and Context entries do not depend on the
// input's whitespace.
func compactRaw(raw []byte) json.RawMessage {
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return bytes.Clone(raw) // unreachable for well-formed input
	}
	return buf.Bytes()
}

// indentJSON is json.Indent into a new slice.
func indentJSON(b []byte, prefix, indent string) ([]byte, error) {
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, prefix, indent); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// truncate shortens s for use in an error message.
func truncate(s string) string {
	const max = 64
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
