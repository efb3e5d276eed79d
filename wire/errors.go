package wire

import (
	"errors"
	"fmt"
)

// Code is a stable, machine-readable error code. It travels as the
// PropError user property, in the payload of a failed action status, and
// (later) in HTTP problem+json bodies. Codes are only ever added, never
// renamed or reused.
type Code string

// Error codes.
const (
	CodeInvalidTD         Code = "invalid_td"         // the Thing Description is not valid
	CodeInvalidTopic      Code = "invalid_topic"      // the topic does not follow the scheme
	CodeInvalidPayload    Code = "invalid_payload"    // not JSON, or not what the data schema allows
	CodeUnknownThing      Code = "unknown_thing"      // no twin with that ID
	CodeUnknownAffordance Code = "unknown_affordance" // the twin has no such property, event or action
	CodeDenied            Code = "denied"             // the sender may not do this
	CodeExpired           Code = "expired"            // the request waited longer than its expiry
	CodeOffline           Code = "offline"            // the agent is not connected
	CodeBusy              Code = "busy"               // a request of the same kind is still running
	CodeSuperseded        Code = "superseded"         // a newer request replaced this one
	CodeQuota             Code = "quota"              // a queue or rate limit is full
	CodeCancelled         Code = "cancelled"          // the request was cancelled
	CodeAgentError        Code = "agent_error"        // the agent reported a failure
	CodeTimeout           Code = "timeout"            // no answer in time
	CodeInternal          Code = "internal"           // the hub failed; see its log
	CodeReadOnly          Code = "read_only"          // the property cannot be written
	CodeFinished          Code = "finished"           // the request already ended
	CodeUnknownAccount    Code = "unknown_account"    // no account with that ID
	CodeTooLarge          Code = "too_large"          // the payload is over the hub's size limit
	CodeRateLimited       Code = "rate_limited"       // the client publishes faster than the hub's rate limit
	CodeStorageFull       Code = "storage_full"       // the hub's disk is (nearly) full; try again later
	CodeUnauthenticated   Code = "unauthenticated"    // no credentials, or ones the hub does not accept
	CodeNotFound          Code = "not_found"          // no such resource (an HTTP path outside the API)
	CodeMethodNotAllowed  Code = "method_not_allowed" // the resource does not support the HTTP method
	CodeNoValue           Code = "no_value"           // nothing to read yet: a property without a value, an action without a request

	// Codes of the HTTP side's limits (issue 12).
	CodeUnsupportedMedia Code = "unsupported_media_type" // an HTTP body of a media type the resource does not take (it takes JSON)
	CodeRequestTimeout   Code = "request_timeout"        // the client sent its HTTP request too slowly
)

// MQTT 5 reason codes a hub may put in a PUBACK (MQTT 5.0 section 3.4.2.1).
const (
	ReasonSuccess              byte = 0x00
	ReasonUnspecified          byte = 0x80
	ReasonImplementation       byte = 0x83
	ReasonNotAuthorized        byte = 0x87
	ReasonTopicNameInvalid     byte = 0x90
	ReasonQuotaExceeded        byte = 0x97
	ReasonPayloadFormatInvalid byte = 0x99
)

// codeInfo is one row of the code table.
type codeInfo struct {
	reason byte // MQTT 5 reason code
	http   int  // HTTP status
}

// codes maps every Code to its MQTT 5 reason code and HTTP status. It is
// the one place where that mapping lives.
var codes = map[Code]codeInfo{
	CodeInvalidTD:         {ReasonPayloadFormatInvalid, 400},
	CodeInvalidTopic:      {ReasonTopicNameInvalid, 400},
	CodeInvalidPayload:    {ReasonPayloadFormatInvalid, 400},
	CodeUnknownThing:      {ReasonTopicNameInvalid, 404},
	CodeUnknownAffordance: {ReasonTopicNameInvalid, 404},
	CodeDenied:            {ReasonNotAuthorized, 403},
	CodeExpired:           {ReasonImplementation, 410},
	CodeOffline:           {ReasonImplementation, 503},
	CodeBusy:              {ReasonImplementation, 409},
	CodeSuperseded:        {ReasonImplementation, 409},
	CodeQuota:             {ReasonQuotaExceeded, 429},
	CodeCancelled:         {ReasonImplementation, 409},
	CodeAgentError:        {ReasonImplementation, 502},
	CodeTimeout:           {ReasonImplementation, 504},
	CodeInternal:          {ReasonUnspecified, 500},
	CodeReadOnly:          {ReasonNotAuthorized, 405},
	CodeFinished:          {ReasonImplementation, 409},
	CodeUnknownAccount:    {ReasonImplementation, 404},
	CodeTooLarge:          {ReasonQuotaExceeded, 413},
	CodeRateLimited:       {ReasonQuotaExceeded, 429},
	CodeStorageFull:       {ReasonQuotaExceeded, 507},
	CodeUnauthenticated:   {ReasonNotAuthorized, 401},
	CodeNotFound:          {ReasonTopicNameInvalid, 404},
	CodeMethodNotAllowed:  {ReasonImplementation, 405},
	CodeNoValue:           {ReasonImplementation, 404},
	CodeUnsupportedMedia:  {ReasonPayloadFormatInvalid, 415},
	CodeRequestTimeout:    {ReasonImplementation, 408},
}

// Codes returns every known code, for documentation and tests.
func Codes() []Code {
	out := make([]Code, 0, len(codes))
	for c := range codes {
		out = append(out, c)
	}
	return out
}

// Reason is the MQTT 5 reason code for c (0x80 for an unknown code).
func (c Code) Reason() byte {
	if i, ok := codes[c]; ok {
		return i.reason
	}
	return ReasonUnspecified
}

// HTTPStatus is the HTTP status for c (500 for an unknown code).
func (c Code) HTTPStatus() int {
	if i, ok := codes[c]; ok {
		return i.http
	}
	return 500
}

// Known reports whether c is in the code table.
func (c Code) Known() bool { _, ok := codes[c]; return ok }

// Error is the one error shape on the wire: a stable code and a message
// for people. It is the payload of a failed action status.
type Error struct {
	Code    Code   `json:"code"`
	Message string `json:"message,omitempty"`
}

// Errorf returns an *Error with a formatted message.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	if e.Message == "" {
		return string(e.Code)
	}
	return string(e.Code) + ": " + e.Message
}

// Is makes errors.Is(err, &Error{Code: c}) match any *Error with code c.
func (e *Error) Is(target error) bool {
	var t *Error
	if errors.As(target, &t) {
		return t.Code == e.Code && (t.Message == "" || t.Message == e.Message)
	}
	return false
}

// CodeOf returns the code of err if it is or wraps an *Error, else
// CodeInternal.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}
