package wot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the client SDK. Errors that the hub or an agent
// reported wrap one of them and the wire *Error, so both
//
//	errors.Is(err, wot.ErrNotFound)
//	var e *wot.Error; errors.As(err, &e) // e.Code, e.Message
//
// work on what a Client returns.
var (
	// ErrNotFound: no such Thing, affordance, request or account (codes
	// unknown_thing, unknown_affordance, unknown_account, not_found).
	ErrNotFound = errors.New("wot: not found")
	// ErrDenied: not allowed, or not logged in (codes denied,
	// unauthenticated; a refused connection).
	ErrDenied = errors.New("wot: denied")
	// ErrInvalidInput: the hub refused a payload, TD or topic (codes
	// invalid_payload, invalid_td, invalid_topic, read_only, too_large,
	// method_not_allowed).
	ErrInvalidInput = errors.New("wot: invalid input")
	// ErrTimeout: no outcome before the context's deadline (or the
	// Client's default timeout), or code timeout.
	ErrTimeout = errors.New("wot: timeout")
	// ErrExpired: the request expired in the hub before an outcome, or
	// had ended already (codes expired, finished).
	ErrExpired = errors.New("wot: expired")
	// ErrBusy: the hub refused or replaced the request because of another
	// one, or is over a limit for now; try again later (codes busy,
	// superseded, quota, rate_limited, storage_full).
	ErrBusy = errors.New("wot: busy")
	// ErrOffline: the agent is offline and the request could not wait
	// (code offline).
	ErrOffline = errors.New("wot: agent offline")
	// ErrCancelled: the request was cancelled (code cancelled).
	ErrCancelled = errors.New("wot: cancelled")
	// ErrAgent: the agent reported a failure (code agent_error).
	ErrAgent = errors.New("wot: agent error")
	// ErrNoValue: the property (or action status) has no value yet (code
	// no_value).
	ErrNoValue = errors.New("wot: no value")
	// ErrClosed: the Client was closed.
	ErrClosed = errors.New("wot: client closed")
	// ErrConnection: the connection to the hub failed or was lost while
	// the call was under way; the call may or may not have taken effect.
	ErrConnection = errors.New("wot: no connection to the hub")
)

// kindOf maps a wire code to the sentinel it is reported as; nil for codes
// without one (internal and unknown codes).
func kindOf(c Code) error {
	switch c {
	case CodeUnknownThing, CodeUnknownAffordance, CodeUnknownAccount, CodeNotFound:
		return ErrNotFound
	case CodeDenied, CodeUnauthenticated:
		return ErrDenied
	case CodeInvalidPayload, CodeInvalidTD, CodeInvalidTopic, CodeReadOnly, CodeTooLarge, CodeMethodNotAllowed:
		return ErrInvalidInput
	case CodeTimeout:
		return ErrTimeout
	case CodeExpired, CodeFinished:
		return ErrExpired
	case CodeBusy, CodeSuperseded, CodeQuota, CodeRateLimited, CodeStorageFull:
		return ErrBusy
	case CodeNoValue:
		return ErrNoValue
	case CodeOffline:
		return ErrOffline
	case CodeCancelled:
		return ErrCancelled
	case CodeAgentError:
		return ErrAgent
	}
	return nil
}

// remoteError is an error the hub or an agent reported: the wire error and
// the sentinel its code maps to.
type remoteError struct {
	wire *Error
	kind error // nil for codes without a sentinel
}

func (e *remoteError) Error() string { return "wot: " + e.wire.Error() }

func (e *remoteError) Unwrap() []error {
	if e.kind == nil {
		return []error{e.wire}
	}
	return []error{e.kind, e.wire}
}

// wireError wraps a wire error so that errors.Is finds its sentinel.
func wireError(e *Error) error {
	if e == nil {
		return nil
	}
	if e.Code == "" {
		e.Code = CodeInternal
	}
	return &remoteError{wire: e, kind: kindOf(e.Code)}
}

// reasonCodes maps MQTT 5 reason codes to the code a hub means by them when
// its reason string does not say (a plain broker, or MQTT 3.1.1 behaviour).
var reasonCodes = map[byte]Code{
	ReasonNotAuthorized:        CodeDenied,
	ReasonTopicNameInvalid:     CodeInvalidTopic,
	ReasonQuotaExceeded:        CodeQuota,
	ReasonPayloadFormatInvalid: CodeInvalidPayload,
}

// ackError turns a refusal (PUBACK or SUBACK reason code >= 0x80, with the
// hub's reason string "code: message") into an error.
func ackError(reason byte, reasonString string) error {
	code, msg, ok := strings.Cut(reasonString, ": ")
	if ok && Code(code).Known() {
		return wireError(&Error{Code: Code(code), Message: msg})
	}
	c, known := reasonCodes[reason]
	if !known {
		c = CodeInternal
	}
	if reasonString == "" {
		reasonString = fmt.Sprintf("refused with reason code %#x", reason)
	}
	return wireError(&Error{Code: c, Message: reasonString})
}

// timeoutError reports that what got no answer before a context's
// deadline. It wraps ErrTimeout and context.DeadlineExceeded.
func timeoutError(what string) error {
	return fmt.Errorf("%w: %s: %w", ErrTimeout, what, context.DeadlineExceeded)
}
