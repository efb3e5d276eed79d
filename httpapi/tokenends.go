package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// What a token's end ends on the HTTP side (the MQTT half is
// broker/tokenends.go): an event stream opened with a token (Bearer,
// Basic with a token, access_token, the wotmq_token cookie) ends when the
// token expires, by one timer per stream (time.AfterFunc: no goroutine
// until it fires), and when the token is revoked. Its last event, named
// EndEvent, says why; the client's EventSource then reconnects and is
// refused with 401 until it has a new token.

// EndEvent names the last event of a stream the hub ends for a reason the
// client should know (its token expired or was revoked, its account
// changed): its data is a problem object (docs/http.md, "Errors").
const EndEvent = "wotmq:end"

var (
	endTokenExpired = wire.Errorf(wire.CodeUnauthenticated, "token expired; open the stream again with a new token")
	endTokenRevoked = wire.Errorf(wire.CodeUnauthenticated, "token revoked")
	// The other revocations (revoke.go).
	endAccountChanged = wire.Errorf(wire.CodeDenied, "the account changed (role, password or disabled); open the stream again")
	endACLChanged     = wire.Errorf(wire.CodeDenied, "the Thing's access list no longer allows this stream")
)

// endAtExpiry ends st when its token expires and returns what stops the
// timer.
func (h *Server) endAtExpiry(st *openStream) (stop func()) {
	t := time.AfterFunc(st.id.Expires.Sub(h.opts.Now()), func() { st.fin.endFor(endTokenExpired) })
	return func() { t.Stop() }
}

// tokenRevoked ends the streams opened with a revoked token.
func (h *Server) tokenRevoked(c authz.Change) {
	n := 0
	for _, st := range h.streams.snapshot() {
		if st.id.Token == c.Token {
			st.fin.endFor(endTokenRevoked)
			n++
		}
	}
	if n > 0 {
		h.log.Info().Str("account", c.Account).Str("token", c.Token).Int("streams", n).Msg("token revoked: its event streams ended")
	}
}

// sayEnd writes the last event of a stream that ended for a reason
// (ending.endFor): EndEvent with the problem. It has no id, so that a
// reconnect resumes after the last value.
func (s *sseStream) sayEnd(fin *ending) {
	if fin.why == nil {
		return
	}
	p := Problem{Type: ProblemTypeBase + string(fin.why.Code), Status: fin.why.Code.HTTPStatus(), Detail: fin.why.Message, Code: fin.why.Code}
	p.Title = http.StatusText(p.Status)
	b, _ := json.Marshal(p)
	_ = s.send("", EndEvent, b)
}
