package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// Errors of the HTTP side.
var (
	// errShuttingDown answers requests that arrive while the hub closes.
	errShuttingDown = wire.Errorf(wire.CodeInternal, "the hub is shutting down")
	// errNotJSON is returned by applyMergePatch for a document or patch
	// that is not one JSON value.
	errNotJSON = errors.New("broker: not a JSON document")
)

// ProblemTypeBase is the base of the type URI of every problem the HTTP
// API answers with; the error code follows (docs/http.md, "Errors").
const ProblemTypeBase = "https://github.com/wotmq/wotmq/blob/main/docs/http.md#error-"

// Problem is the body of every HTTP error (RFC 9457,
// application/problem+json). Code is the wire error code, the same the MQTT
// side reports; Status is Code.HTTPStatus(), the one mapping of codes to
// statuses.
type Problem struct {
	Type     string    `json:"type"`
	Title    string    `json:"title"`
	Status   int       `json:"status"`
	Detail   string    `json:"detail,omitempty"`
	Instance string    `json:"instance,omitempty"`
	Code     wire.Code `json:"code"`
	// ValidationErrors lists what is wrong with a refused TD (WoT
	// Discovery), one entry per problem.
	ValidationErrors []ValidationError `json:"validationErrors,omitempty"`
}

// ValidationError is one problem of a refused TD: the JSON path of the
// member and what is wrong with it.
type ValidationError struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

// tdProblem is an invalid_td error that carries the TD's validation
// problems.
type tdProblem struct {
	err    *wire.Error
	fields []ValidationError
}

func (e *tdProblem) Error() string { return e.err.Error() }
func (e *tdProblem) Unwrap() error { return e.err }

// invalidTD wraps a TD refusal with its validation errors: from a
// *td.ValidationError when err has one, else split from the message
// ("$.path: what").
func invalidTD(err error) error {
	var ve *td.ValidationError
	if errors.As(err, &ve) {
		p := &tdProblem{err: wire.Errorf(wire.CodeInvalidTD, "%s", strings.TrimPrefix(ve.Error(), "td: "))}
		for _, pr := range ve.Problems {
			p.fields = append(p.fields, ValidationError{Field: pr.Path, Description: pr.Message})
		}
		return p
	}
	we := twin.AsWire(err)
	if we.Code != wire.CodeInvalidTD {
		return err
	}
	p := &tdProblem{err: we}
	for _, part := range strings.Split(strings.TrimPrefix(we.Message, "invalid Thing Description: "), "; ") {
		field, desc, ok := strings.Cut(part, ": ")
		if !ok || !strings.HasPrefix(field, "$") {
			field, desc = "$", part
		}
		p.fields = append(p.fields, ValidationError{Field: field, Description: desc})
	}
	return p
}

// problem answers a request with err as problem+json. Internal errors are
// logged and their details kept from the client.
func (h *Server) problem(w http.ResponseWriter, r *http.Request, err error) {
	h.problemAt(w, r, err, "")
}

// problemAt is problem with an instance URI (the status URL of a failed
// request).
func (h *Server) problemAt(w http.ResponseWriter, r *http.Request, err error, instance string) {
	we := twin.AsWire(err)
	p := Problem{Type: ProblemTypeBase + string(we.Code), Status: we.Code.HTTPStatus(), Detail: we.Message,
		Instance: instance, Code: we.Code}
	p.Title = http.StatusText(p.Status)
	var tp *tdProblem
	if errors.As(err, &tp) {
		p.ValidationErrors = tp.fields
	}
	if we.Code == wire.CodeInternal {
		h.log.Error().Err(err).Str("method", r.Method).Str("path", r.URL.EscapedPath()).Msg("http request failed")
		p.Detail = "internal error; see the hub log"
	}
	if p.Status == http.StatusUnauthorized && !h.opts.Dev {
		w.Header().Set("WWW-Authenticate", challenge(r))
	}
	var br *bodyRefused
	drain := errors.As(err, &br) && beforeBodyRefusal(w, r, we.Code)
	body, _ := json.Marshal(p)
	body = append(body, '\n')
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body))) // whole before a drain (drainBody)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	w.Write(body)
	if drain {
		drainBody(w, r)
	}
}

// writeJSON answers with a JSON body.
func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	body, ok := v.([]byte)
	if !ok {
		var err error
		if body, err = json.Marshal(v); err != nil {
			body, status = []byte(`{"code":"internal"}`), http.StatusInternalServerError
		}
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	w.Write(body)
}

// challenge is the WWW-Authenticate of a 401. An event stream that came
// with a token in the cookie or the query is a page's EventSource whose
// session ended: a Basic challenge would make the browser ask for a
// password in a dialog of its own (and hold the stream open meanwhile)
// instead of failing it, so that the page can say so; it gets the Bearer
// challenge alone, which browsers do not prompt for.
func challenge(r *http.Request) string {
	if isEventStream(r) {
		_, cerr := r.Cookie(TokenCookie)
		if cerr == nil || r.URL.Query().Has(TokenQuery) {
			return `Bearer realm="wotmq", error="invalid_token"`
		}
	}
	return `Basic realm="wotmq", Bearer realm="wotmq"`
}
