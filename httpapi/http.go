package httpapi

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// MaxHTTPWait bounds how long an HTTP request may ask to wait for an
// outcome (?timeout=).
const MaxHTTPWait = 5 * time.Minute

// Limits of the HTTP binding.
const (
	maxBodyBytes      = 1 << 20          // request bodies: values, inputs, TDs
	httpShutdownGrace = 5 * time.Second  // Close waits this long for HTTP handlers
	sseKeepAlive      = 15 * time.Second // comment lines on idle event streams
	maxHeaderWait     = 10 * time.Second // request headers, within Options.HTTPReadTimeout
)

// web is the hub's HTTP side: the WoT HTTP binding of every twin, the
// Discovery API and the DNS-SD advertisement (docs/http.md).
type web struct {
	plain, secure net.Listener
	// servers serve plain and secure, one each: net/http sets HTTP/2 up
	// once per server, from whichever of Serve and ServeTLS runs first,
	// and a server shared with a plain listener could offer h2 over TLS
	// without serving it (the connection then drops).
	servers []*http.Server
	// streams counts open event streams per account (Limits.MaxStreams).
	streams streamCount
	// baseURL is the base of HTTP form hrefs, e.g. http://localhost:8080;
	// "" when HTTP is off (twin TDs then have MQTT forms only).
	baseURL string
	// ctx is the base of every request context; stopHTTP cancels it, which
	// ends event streams and waits.
	ctx    context.Context
	cancel context.CancelFunc
	serve  sync.WaitGroup
	feed   *dirFeed
	mdns   *advertisement
}

// listenHTTP binds the HTTP and HTTPS listeners (so that bind errors stop
// Start and form hrefs know the ports) and starts following the directory.
// Serving starts in serveHTTP, once the retained state is restored.
func (h *Server) listenHTTP() error {
	w := &h.web
	if h.opts.HTTPAddr != "off" {
		ln, err := net.Listen("tcp", h.opts.HTTPAddr)
		if err != nil {
			return fmt.Errorf("broker: listen on %s (http): %w", h.opts.HTTPAddr, err)
		}
		w.plain = ln
	}
	if h.opts.TLS != nil && h.opts.HTTPSAddr != "off" {
		ln, err := net.Listen("tcp", h.opts.HTTPSAddr)
		if err != nil {
			if w.plain != nil {
				w.plain.Close()
			}
			return fmt.Errorf("broker: listen on %s (https): %w", h.opts.HTTPSAddr, err)
		}
		w.secure = ln
	}
	if w.plain == nil && w.secure == nil {
		return nil
	}
	if w.secure != nil {
		w.baseURL = (&url.URL{Scheme: "https", Host: net.JoinHostPort(h.opts.PublicHost, portOf(w.secure.Addr().String(), "8443"))}).String()
	} else {
		w.baseURL = (&url.URL{Scheme: "http", Host: net.JoinHostPort(h.opts.PublicHost, portOf(w.plain.Addr().String(), "8080"))}).String()
	}
	w.ctx, w.cancel = context.WithCancel(context.Background())
	w.feed = newDirFeed(h)
	return nil
}

// serveHTTP starts serving on the bound listeners and advertises the API.
func (h *Server) serveHTTP() {
	w := &h.web
	if w.cancel == nil {
		return
	}
	w.feed.start()
	for _, ln := range []net.Listener{w.plain, w.secure} {
		if ln == nil {
			continue
		}
		srv := h.newHTTPServer()
		if ln == w.secure {
			srv.TLSConfig = h.opts.TLS.Clone()
		}
		w.servers = append(w.servers, srv)
		w.serve.Add(1)
		go func(ln net.Listener) {
			defer w.serve.Done()
			var err error
			if ln == w.secure {
				err = srv.ServeTLS(ln, "", "")
			} else {
				err = srv.Serve(ln)
			}
			if err != nil && !errors.Is(err, http.ErrServerClosed) {
				h.log.Error().Err(err).Str("addr", ln.Addr().String()).Msg("http server stopped")
			}
		}(ln)
	}
	if h.opts.MDNS {
		w.mdns = h.advertise()
	}
	h.log.Info().Str("http", h.HTTPAddr()).Str("https", h.HTTPSAddr()).Str("forms", w.baseURL).Msg("http api started")
}

// newHTTPServer is the server of one HTTP listener. ReadTimeout bounds
// how long a client may take to send a request, body included: a body
// that trickles in is cut off (408, request_timeout). net/http lifts it
// once the body is read, so event streams and requests waiting for their
// outcome outlive it (TestHTTPTimeouts). There is no WriteTimeout: it
// would end them.
func (h *Server) newHTTPServer() *http.Server {
	w := &h.web
	return &http.Server{
		Handler:           h.handler(),
		ReadHeaderTimeout: min(h.opts.HTTPReadTimeout, maxHeaderWait),
		ReadTimeout:       h.opts.HTTPReadTimeout,
		IdleTimeout:       h.opts.HTTPIdleTimeout,
		MaxHeaderBytes:    64 << 10,
		BaseContext:       func(net.Listener) context.Context { return w.ctx },
		ErrorLog:          log.New(zerologWriter{h.log, zerolog.DebugLevel}, "", 0),
	}
}

// stopHTTP stops the HTTP side: it ends event streams and waiting
// requests, then shuts the server down. It is safe without a start.
func (h *Server) stopHTTP() {
	w := &h.web
	if w.cancel == nil {
		return
	}
	w.cancel()
	if w.mdns != nil {
		w.mdns.stop()
	}
	if w.servers == nil { // bound but never served
		for _, ln := range []net.Listener{w.plain, w.secure} {
			if ln != nil {
				ln.Close()
			}
		}
		w.feed.stop()
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), httpShutdownGrace)
	defer cancel()
	var down sync.WaitGroup
	for _, srv := range w.servers {
		down.Go(func() {
			if err := srv.Shutdown(ctx); err != nil {
				h.log.Warn().Err(err).Msg("http handlers still running at shutdown; closing their connections")
				srv.Close()
			}
		})
	}
	down.Wait()
	w.serve.Wait()
	w.feed.stop()
}

// HTTPAddr is the bound HTTP address ("" when disabled).
func (h *Server) HTTPAddr() string {
	if h.web.plain == nil {
		return ""
	}
	return h.web.plain.Addr().String()
}

// HTTPSAddr is the bound HTTPS address ("" when disabled).
func (h *Server) HTTPSAddr() string {
	if h.web.secure == nil {
		return ""
	}
	return h.web.secure.Addr().String()
}

// api routes every HTTP request. It parses escaped paths itself (the
// standard mux would clean %2F.. in Thing IDs into other paths).
type api struct{ h *Server }

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := a.h
	start := h.opts.Now()
	rec := &statusRecorder{ResponseWriter: w}
	w = rec
	cors(w, r)
	var who authz.Identity
	defer func() {
		h.log.Debug().Str("method", r.Method).Str("path", r.URL.EscapedPath()).Int("status", rec.status).
			Str("account", who.ID).Str("remote", r.RemoteAddr).Dur("took", h.opts.Now().Sub(start)).Msg("http")
	}()
	if r.Method == http.MethodOptions {
		w.WriteHeader(http.StatusNoContent) // CORS preflight
		return
	}
	p := r.URL.EscapedPath()
	if p == wellKnownPath {
		h.wellKnown(w, r)
		return
	}
	id, epoch, err := h.httpIdentity(r)
	if err != nil {
		h.problem(w, r, err)
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), epochKey{}, epoch))
	who = id
	if isEventStream(r) {
		limit := h.opts.MaxStreams
		if !h.web.streams.open(id.ID, limit) {
			h.problem(w, r, wire.Errorf(wire.CodeQuota, "account %q has %d event streams open, the most the hub allows; close one first", id.ID, limit))
			return
		}
		defer h.web.streams.close(id.ID)
	}
	switch {
	case p == "/things" || p == "/things/":
		h.directory(w, r, id)
	case strings.HasPrefix(p, "/things/"):
		rt, err := parseThingPath(p)
		if err != nil {
			h.problem(w, r, err)
			return
		}
		h.thing(w, r, id, rt)
	case p == eventsPath || strings.HasPrefix(p, eventsPath+"/"):
		h.directoryEvents(w, r, id, strings.TrimPrefix(strings.TrimPrefix(p, eventsPath), "/"))
	default:
		h.problem(w, r, wire.Errorf(wire.CodeNotFound, "no resource at %s; start at %s", p, wellKnownPath))
	}
}

// cors allows web apps of any origin to use the API with explicit
// credentials (an Authorization header, or a token in the query of an
// event stream); browsers send no cookies across origins with "*".
func cors(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Origin") == "" {
		return
	}
	hd := w.Header()
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", "Location, Link, Content-Type")
	if r.Method == http.MethodOptions {
		hd.Set("Access-Control-Allow-Methods", "GET, PUT, POST, PATCH, DELETE")
		hd.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Last-Event-ID")
		hd.Set("Access-Control-Max-Age", "600")
	}
}

// methods answers a request whose method the resource does not support.
func (h *Server) methods(w http.ResponseWriter, r *http.Request, allowed ...string) {
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	h.problem(w, r, wire.Errorf(wire.CodeMethodNotAllowed, "%s %s: use %s", r.Method, r.URL.EscapedPath(), strings.Join(allowed, " or ")))
}

// statusRecorder remembers the status for the access log. Unwrap lets
// http.ResponseController reach the connection (Flush for event streams).
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// zerologWriter adapts the standard logger of net/http onto the hub's log.
type zerologWriter struct {
	log   zerolog.Logger
	level zerolog.Level
}

func (z zerologWriter) Write(p []byte) (int, error) {
	z.log.WithLevel(z.level).Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// handler is what each HTTP server serves: the API, wrapped by
// Options.Wrap when the hub gave one.
func (h *Server) handler() http.Handler {
	var api http.Handler = &api{h: h}
	if h.opts.Wrap != nil {
		api = h.opts.Wrap(api)
	}
	return api
}
