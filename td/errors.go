package td

import (
	"errors"
	"strings"
)

// Sentinel errors. Every error returned by this package wraps exactly one of
// them, so callers can classify failures with [errors.Is].
var (
	// ErrInvalidJSON reports a document that is not well-formed JSON, is
	// nested deeper than MaxDepth, or whose members have the wrong JSON type
	// for the TD vocabulary (for example a string where a number belongs).
	ErrInvalidJSON = errors.New("td: invalid JSON")

	// ErrInvalidTD reports a Thing Description that decodes but breaks the
	// TD 1.1 rules checked by Validate. The error is a *ValidationError.
	ErrInvalidTD = errors.New("td: invalid Thing Description")

	// ErrInvalidValue reports a value (a property value, action input, event
	// payload, ...) that does not conform to its DataSchema. The error is a
	// *ValueError.
	ErrInvalidValue = errors.New("td: invalid value")

	// ErrInvalidExtra reports an Extra member that cannot be encoded because
	// its raw value is not valid JSON.
	ErrInvalidExtra = errors.New("td: invalid Extra member")
)

// decodeError is the error returned by the decoder. It names the JSON path of
// the offending member and wraps ErrInvalidJSON.
type decodeError struct {
	path string
	msg  string
}

// Error returns "td: invalid JSON: path: message".
func (e *decodeError) Error() string {
	if e.path == "" {
		return ErrInvalidJSON.Error() + ": " + e.msg
	}
	return ErrInvalidJSON.Error() + ": " + e.path + ": " + e.msg
}

// Unwrap returns ErrInvalidJSON.
func (e *decodeError) Unwrap() error { return ErrInvalidJSON }

// Problem is one violation found by Validate.
type Problem struct {
	// Path is the JSON path of the offending member, such as
	// $.properties.temp.forms[0].op. Names that are not plain identifiers
	// are bracket-quoted: $.properties['a.b'], $['@context'].
	Path string `json:"path"`
	// Message describes the violation.
	Message string `json:"message"`
}

// String returns "path: message".
func (p Problem) String() string { return p.Path + ": " + p.Message }

// ValidationError lists every problem Validate found in a Thing Description.
// It wraps ErrInvalidTD.
type ValidationError struct {
	Problems []Problem
}

// Error joins all problems: "td: invalid Thing Description: $.title:
// required; $.security: ...".
func (e *ValidationError) Error() string {
	var b strings.Builder
	b.WriteString(ErrInvalidTD.Error())
	for i, p := range e.Problems {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Unwrap returns ErrInvalidTD.
func (e *ValidationError) Unwrap() error { return ErrInvalidTD }

// ValueError reports the first way in which a value breaks its DataSchema.
// It wraps ErrInvalidValue.
type ValueError struct {
	// Path is the JSON path of the offending part of the value; "$" is the
	// value itself.
	Path string `json:"path"`
	// Message describes the violation, e.g. "want integer, got string".
	Message string `json:"message"`
}

// Error returns "td: invalid value: path: message".
func (e *ValueError) Error() string {
	return ErrInvalidValue.Error() + ": " + e.Path + ": " + e.Message
}

// Unwrap returns ErrInvalidValue.
func (e *ValueError) Unwrap() error { return ErrInvalidValue }
