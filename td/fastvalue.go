package td

import (
	"encoding/binary"
	"math"
	"strconv"
	"unicode/utf8"
)

// acceptsFast is value validation's fast path: one pass over raw, which
// checks the syntax, the nesting depth, UTF-8, the range of numbers and
// the schema at once, without decoding anything (no allocation). It
// reports true only when ValidateJSON's full path (checkDepth,
// checkSyntax, decodeAny, checkRange, Validate) would accept raw; false
// means "not sure": the full path decides and words the error. Values the
// fast path leaves to the full path: schemas with const, enum or oneOf;
// strings with escapes where a length or a pattern applies; object keys
// with escapes; numbers written with a fraction or an exponent where an
// integer is wanted (1.0 is one); invalid UTF-8 (encoding/json takes it as
// U+FFFD). FuzzValidateFast checks that it never accepts what the full
// path refuses.
//
// It is the hot path of every event and property value an agent publishes:
// for make bench's event the full path costs about five passes over the
// bytes and a map per object.
func (s *DataSchema) acceptsFast(raw []byte) bool {
	f := fastScanner{data: raw}
	f.space()
	if !f.value(s, 0) {
		return false
	}
	f.space()
	return f.pos == len(f.data)
}

// fastScanner scans one JSON value for acceptsFast.
type fastScanner struct {
	data []byte
	pos  int
}

// peek is the byte at pos, 0 at the end.
func (f *fastScanner) peek() byte {
	if f.pos < len(f.data) {
		return f.data[f.pos]
	}
	return 0
}

func (f *fastScanner) space() {
	for f.pos < len(f.data) {
		switch f.data[f.pos] {
		case ' ', '\t', '\n', '\r':
			f.pos++
		default:
			return
		}
	}
}

// value scans the value at pos against s (nil: any value), nested depth
// objects and arrays deep.
func (f *fastScanner) value(s *DataSchema, depth int) bool {
	if s != nil && (s.Const != nil || s.Enum != nil || s.OneOf != nil) {
		return false
	}
	switch f.peek() {
	case '{':
		return f.object(s, depth+1)
	case '[':
		return f.array(s, depth+1)
	case '"':
		start := f.pos
		escaped, ok := f.str()
		return ok && (s == nil || s.stringFast(f.data[start+1:f.pos-1], escaped))
	case 't':
		return f.literal("true") && s.typeIs(TypeBoolean)
	case 'f':
		return f.literal("false") && s.typeIs(TypeBoolean)
	case 'n':
		return f.literal("null") && s.typeIs(TypeNull)
	}
	return f.number(s)
}

// typeIs reports whether s allows a value of JSON type kind, other than a
// number, by its type alone.
func (s *DataSchema) typeIs(kind string) bool {
	return s == nil || s.Type == "" || s.Type == kind
}

func (f *fastScanner) literal(word string) bool {
	if len(f.data)-f.pos < len(word) || string(f.data[f.pos:f.pos+len(word)]) != word {
		return false
	}
	f.pos += len(word)
	return true
}

func (f *fastScanner) object(s *DataSchema, depth int) bool {
	if depth > MaxDepth || !s.typeIs(TypeObject) || (s != nil && len(s.Required) > 64) {
		return false
	}
	var found uint64 // bit i: s.Required[i] seen
	complete := func() bool {
		return s == nil || len(s.Required) == 0 || found == math.MaxUint64>>(64-len(s.Required))
	}
	f.pos++ // {
	f.space()
	if f.peek() == '}' {
		f.pos++
		return complete()
	}
	for {
		f.space()
		if f.peek() != '"' {
			return false
		}
		start := f.pos
		escaped, ok := f.str()
		if !ok || escaped {
			return false
		}
		key := f.data[start+1 : f.pos-1]
		f.space()
		if f.peek() != ':' {
			return false
		}
		f.pos++
		f.space()
		var sub *DataSchema
		if s != nil {
			sub = s.Properties[string(key)]
			for i, name := range s.Required {
				if name == string(key) {
					found |= 1 << i
				}
			}
		}
		// A repeated key is checked each time (the full path checks the
		// last only): stricter, never more lenient.
		if !f.value(sub, depth) {
			return false
		}
		f.space()
		switch f.peek() {
		case ',':
			f.pos++
		case '}':
			f.pos++
			return complete()
		default:
			return false
		}
	}
}

func (f *fastScanner) array(s *DataSchema, depth int) bool {
	if depth > MaxDepth || !s.typeIs(TypeArray) {
		return false
	}
	n := 0
	count := func() bool {
		return s == nil || ((s.MinItems == nil || n >= *s.MinItems) && (s.MaxItems == nil || n <= *s.MaxItems))
	}
	f.pos++ // [
	f.space()
	if f.peek() == ']' {
		f.pos++
		return count()
	}
	for {
		f.space()
		var item *DataSchema
		if s != nil {
			item = s.Items
			if item == nil && n < len(s.ItemsTuple) {
				item = s.ItemsTuple[n]
			}
		}
		if !f.value(item, depth) {
			return false
		}
		n++
		f.space()
		switch f.peek() {
		case ',':
			f.pos++
		case ']':
			f.pos++
			return count()
		default:
			return false
		}
	}
}

// str scans the string at pos (its opening quote). escaped reports a
// backslash escape in it; ok is false for a malformed string or one that
// is not valid UTF-8.
func (f *fastScanner) str() (escaped, ok bool) {
	f.pos++ // "
	for f.pos < len(f.data) {
		// Eight plain bytes at a time: the long strings of a payload
		// (padding, text, base64) are mostly plain ASCII.
		for len(f.data)-f.pos >= 8 && plain8(binary.LittleEndian.Uint64(f.data[f.pos:])) {
			f.pos += 8
		}
		if f.pos >= len(f.data) {
			break
		}
		c := f.data[f.pos]
		switch {
		case c == '"':
			f.pos++
			return escaped, true
		case c == '\\':
			escaped = true
			f.pos++
			switch f.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				f.pos++
			case 'u':
				if len(f.data)-f.pos < 5 {
					return false, false
				}
				for _, h := range f.data[f.pos+1 : f.pos+5] {
					if !isHex(h) {
						return false, false
					}
				}
				f.pos += 5
			default:
				return false, false
			}
		case c < 0x20:
			return false, false
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRune(f.data[f.pos:])
			if r == utf8.RuneError && size == 1 {
				return false, false
			}
			f.pos += size
		default:
			f.pos++
		}
	}
	return false, false
}

// plain8 reports whether none of the eight bytes in x is a quote, a
// backslash, a control character or non-ASCII (the SWAR tests of "Bit
// Twiddling Hacks": a byte below n, a byte equal to c).
func plain8(x uint64) bool {
	const ones, highs = 0x0101010101010101, 0x8080808080808080
	control := (x - ones*0x20) &^ x
	q := x ^ (ones * '"')
	quote := (q - ones) &^ q
	b := x ^ (ones * '\\')
	backslash := (b - ones) &^ b
	return (control|quote|backslash|x)&highs == 0
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// stringFast checks a string's raw bytes (between the quotes) against s.
func (s *DataSchema) stringFast(raw []byte, escaped bool) bool {
	if !s.typeIs(TypeString) {
		return false
	}
	if s.MinLength == nil && s.MaxLength == nil && s.Pattern == "" {
		return true
	}
	if escaped {
		return false // the rules apply to the unescaped string
	}
	if s.MinLength != nil || s.MaxLength != nil {
		n := utf8.RuneCount(raw)
		if (s.MinLength != nil && n < *s.MinLength) || (s.MaxLength != nil && n > *s.MaxLength) {
			return false
		}
	}
	if s.Pattern != "" {
		re, err := compilePattern(s.Pattern)
		if err != nil || !re.Match(raw) {
			return false
		}
	}
	return true
}

// number scans the number at pos (RFC 8259's grammar) against s.
func (f *fastScanner) number(s *DataSchema) bool {
	start := f.pos
	if f.peek() == '-' {
		f.pos++
	}
	switch c := f.peek(); {
	case c == '0':
		f.pos++
	case c >= '1' && c <= '9':
		for isDigit(f.peek()) {
			f.pos++
		}
	default:
		return false
	}
	whole, exp := true, false
	if f.peek() == '.' {
		f.pos++
		if !isDigit(f.peek()) {
			return false
		}
		for isDigit(f.peek()) {
			f.pos++
		}
		whole = false
	}
	if c := f.peek(); c == 'e' || c == 'E' {
		f.pos++
		if c := f.peek(); c == '+' || c == '-' {
			f.pos++
		}
		if !isDigit(f.peek()) {
			return false
		}
		for isDigit(f.peek()) {
			f.pos++
		}
		whole, exp = false, true
	}
	lit := f.data[start:f.pos]
	rules := s != nil && (s.Minimum != nil || s.Maximum != nil || s.ExclusiveMinimum != nil ||
		s.ExclusiveMaximum != nil || (s.MultipleOf != nil && *s.MultipleOf > 0))
	var v float64
	// Without an exponent, a number beyond float64's range has more than
	// 300 digits.
	if rules || exp || len(lit) > 300 {
		v, _ = strconv.ParseFloat(string(lit), 64)
		if math.IsInf(v, 0) {
			return false
		}
	}
	if s == nil {
		return true
	}
	switch s.Type {
	case "", TypeNumber:
	case TypeInteger:
		if !whole {
			return false // 1.0 and 1e2 are integers too: the full path decides
		}
	default:
		return false
	}
	switch {
	case !rules:
		return true
	case s.Minimum != nil && v < *s.Minimum,
		s.Maximum != nil && v > *s.Maximum,
		s.ExclusiveMinimum != nil && v <= *s.ExclusiveMinimum,
		s.ExclusiveMaximum != nil && v >= *s.ExclusiveMaximum,
		s.MultipleOf != nil && *s.MultipleOf > 0 && !isMultiple(v, *s.MultipleOf):
		return false
	}
	return true
}
