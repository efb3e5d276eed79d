package httpapi

import (
	"errors"
	"io"
	"mime"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"

	"github.com/wotmq/wotmq/wire"
)

// What the HTTP side lets one client hold: bodies (media type, size,
// read time), event streams per account, and writes against the disk
// reserve (docs/security.md, "Limits").

// maxDrainBytes is how much of a refused body the hub still reads and
// throws away, so that a client that sends its whole request before it
// reads the answer (Python's http.client, many scripts) gets the 413
// instead of a reset. Larger bodies have their connection closed.
const maxDrainBytes = 64 << 20

// Media types a JSON input may have besides application/json.
var (
	mediaTD         = []string{contentTD, contentJSON}
	mediaMergePatch = []string{contentMergePatch}
)

// readInput reads the JSON body of a write: a value, an action input, a
// TD or a merge patch. media lists the types the resource takes; none
// means JSON: application/json or any application/*+json. A missing
// Content-Type is taken as JSON (curl -d and node-wot set one; simple
// clients may not). The body is at most maxBodyBytes, read within the
// read timeout, and the write must fit the disk reserve.
func (h *Server) readInput(r *http.Request, media ...string) ([]byte, error) {
	if err := checkMedia(r, media); err != nil {
		return nil, err
	}
	// A declared length over the limit is refused before reading, so a
	// client waiting for 100 Continue sends nothing.
	if r.ContentLength > maxBodyBytes {
		return nil, &bodyRefused{tooLarge()}
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBodyBytes))
	if err != nil {
		return nil, bodyError(err)
	}
	if err := h.reserveFor(len(b)); err != nil {
		return nil, err
	}
	return b, nil
}

// checkMedia refuses a body whose media type the resource does not take
// (415 unsupported_media_type).
func checkMedia(r *http.Request, media []string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && (params["charset"] == "" || strings.EqualFold(params["charset"], "utf-8")) {
		if len(media) == 0 && isJSONMedia(mt) {
			return nil
		}
		for _, m := range media {
			if mt == m {
				return nil
			}
		}
	}
	want := "application/json (UTF-8)"
	if len(media) > 0 {
		want = strings.Join(media, " or ")
	}
	return wire.Errorf(wire.CodeUnsupportedMedia, "Content-Type %q: send %s", ct, want)
}

// isJSONMedia reports whether a (lower-case) media type is JSON:
// application/json or a structured syntax suffix +json (RFC 6839).
func isJSONMedia(mt string) bool {
	sub, ok := strings.CutPrefix(mt, "application/")
	return ok && (sub == "json" || (strings.HasSuffix(sub, "+json") && len(sub) > len("+json")))
}

func tooLarge() *wire.Error {
	return wire.Errorf(wire.CodeTooLarge, "the body is over %d bytes", maxBodyBytes)
}

// bodyRefused is a body the hub stopped reading (too large, too slow):
// its connection closes after the answer.
type bodyRefused struct{ err *wire.Error }

func (e *bodyRefused) Error() string { return e.err.Error() }
func (e *bodyRefused) Unwrap() error { return e.err }

// bodyError names why a body could not be read.
func bodyError(err error) error {
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return &bodyRefused{tooLarge()}
	case errors.Is(err, os.ErrDeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return &bodyRefused{wire.Errorf(wire.CodeRequestTimeout, "the body did not arrive within the hub's read timeout")}
	}
	return wire.Errorf(wire.CodeInvalidPayload, "cannot read the body: %v", err)
}

// beforeBodyRefusal runs before the answer to a refused body (413, 408)
// is written: the connection closes after it. For a client that sends
// its whole body before it reads the answer, the rest of a too large
// body is read and thrown away after the answer (drainBody): closing a
// socket with unread data resets it, and the client's send fails before
// it reads.
func beforeBodyRefusal(w http.ResponseWriter, r *http.Request, code wire.Code) (drain bool) {
	if r.ProtoMajor != 1 {
		return false // HTTP/2 ends only the stream (Connection: close would end every stream)
	}
	w.Header().Set("Connection", "close")
	if code != wire.CodeTooLarge || r.Body == nil || r.Body == http.NoBody ||
		strings.EqualFold(r.Header.Get("Expect"), "100-continue") || r.ContentLength > maxDrainBytes {
		return false // a 100-continue client sends nothing more
	}
	// Let the handler read the body after it answers (HTTP/1.x).
	return http.NewResponseController(w).EnableFullDuplex() == nil
}

// drainBody reads the rest of a refused body, at most maxDrainBytes and
// within the read timeout, after the answer is flushed.
func drainBody(w http.ResponseWriter, r *http.Request) {
	_ = http.NewResponseController(w).Flush()
	_, _ = io.CopyN(io.Discard, r.Body, maxDrainBytes)
}

// streamCount counts the open event streams of each account, for
// Limits.MaxStreams.
type streamCount struct {
	mu sync.Mutex
	n  map[string]int
}

// open counts one more stream of account, unless it has max open
// (max <= 0: no limit). The caller calls close when the stream ends.
func (s *streamCount) open(account string, max int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if max > 0 && s.n[account] >= max {
		return false
	}
	if s.n == nil {
		s.n = map[string]int{}
	}
	s.n[account]++
	return true
}

func (s *streamCount) close(account string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n[account]--; s.n[account] <= 0 {
		delete(s.n, account)
	}
}
