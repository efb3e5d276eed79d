package td

import (
	"strconv"
	"strings"
)

// pathKey appends the member name to the JSON path p: $.a for identifiers,
// $['a.b'] otherwise.
func pathKey(p, name string) string {
	if isIdentifier(name) {
		return p + "." + name
	}
	var b strings.Builder
	b.Grow(len(p) + len(name) + 4)
	b.WriteString(p)
	b.WriteString("['")
	for _, r := range name {
		switch r {
		case '\'', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString("']")
	return b.String()
}

// pathIndex appends an array index to the JSON path p: $.a[3].
func pathIndex(p string, i int) string {
	return p + "[" + strconv.Itoa(i) + "]"
}

// isIdentifier reports whether name can follow a dot in a JSON path: an
// ASCII letter or underscore, then letters, digits or underscores.
func isIdentifier(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c == '_', 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case '0' <= c && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}
