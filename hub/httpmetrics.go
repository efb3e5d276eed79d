package hub

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wotmq/wotmq/exposition"
)

// httpStats counts the HTTP binding's requests by route, method and status
// code (wotmq_http_requests_total) and times them by route and status
// class (wotmq_http_request_duration_seconds). It sits in front of the
// binding's handler (wrap), so that the binding needs to know nothing of
// it. A route is the path's template, e.g. /things/{id}/properties/{name}:
// the series are bounded whatever the Thing IDs.
type httpStats struct {
	mu       sync.RWMutex
	requests map[httpKey]*atomic.Uint64
	latency  map[latencyKey]*httpHistogram
}

type httpKey struct {
	route, method string
	code          int
}

type latencyKey struct{ route, class string }

// httpBuckets are the upper bounds (seconds) of the request duration
// histogram: from a cached read to an invokeaction that waits for its
// outcome (--http-read-timeout, ?timeout=).
var httpBuckets = [...]float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}

type httpHistogram struct {
	counts [len(httpBuckets) + 1]atomic.Uint64 // per bucket, the last +Inf
	sum    atomic.Int64                        // nanoseconds
}

// wrap counts every request next serves. Event streams (SSE) are counted
// when they end, and not timed: they last as long as their client
// listens.
func (s *httpStats) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &codeRecorder{ResponseWriter: w}
		defer func() {
			code := rec.code
			if code == 0 {
				code = http.StatusOK // a handler that wrote nothing
			}
			route := httpRoute(r.URL.EscapedPath())
			s.count(route, httpMethod(r.Method), code)
			if !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/event-stream") {
				s.observe(route, code, time.Since(start))
			}
		}()
		next.ServeHTTP(rec, r)
	})
}

func (s *httpStats) count(route, method string, code int) {
	k := httpKey{route, method, code}
	s.mu.RLock()
	n := s.requests[k]
	s.mu.RUnlock()
	if n == nil {
		s.mu.Lock()
		if s.requests == nil {
			s.requests = map[httpKey]*atomic.Uint64{}
		}
		if n = s.requests[k]; n == nil {
			n = new(atomic.Uint64)
			s.requests[k] = n
		}
		s.mu.Unlock()
	}
	n.Add(1)
}

func (s *httpStats) observe(route string, code int, d time.Duration) {
	k := latencyKey{route, strconv.Itoa(code/100) + "xx"}
	s.mu.RLock()
	hg := s.latency[k]
	s.mu.RUnlock()
	if hg == nil {
		s.mu.Lock()
		if s.latency == nil {
			s.latency = map[latencyKey]*httpHistogram{}
		}
		if hg = s.latency[k]; hg == nil {
			hg = new(httpHistogram)
			s.latency[k] = hg
		}
		s.mu.Unlock()
	}
	sec := d.Seconds()
	i := 0
	for i < len(httpBuckets) && sec > httpBuckets[i] {
		i++
	}
	hg.counts[i].Add(1)
	hg.sum.Add(int64(d))
}

// write writes both families; they are declared even before the first
// request, so that dashboards and alerts find them.
func (s *httpStats) write(e *exposition.Writer) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e.Family("wotmq_http_requests_total", "counter", "HTTP requests of the WoT HTTP binding and Discovery API, by route (path template), method and status code.")
	keys := make([]httpKey, 0, len(s.requests))
	for k := range s.requests {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b httpKey) int {
		return strings.Compare(a.route+" "+a.method+" "+strconv.Itoa(a.code), b.route+" "+b.method+" "+strconv.Itoa(b.code))
	})
	for _, k := range keys {
		e.Sample("wotmq_http_requests_total", `route="`+k.route+`",method="`+k.method+`",code="`+strconv.Itoa(k.code)+`"`, float64(s.requests[k].Load()))
	}
	e.Family("wotmq_http_request_duration_seconds", "histogram", "Time to answer an HTTP request (event streams excluded), by route and status class.")
	lkeys := make([]latencyKey, 0, len(s.latency))
	for k := range s.latency {
		lkeys = append(lkeys, k)
	}
	slices.SortFunc(lkeys, func(a, b latencyKey) int { return strings.Compare(a.route+" "+a.class, b.route+" "+b.class) })
	for _, k := range lkeys {
		hg := s.latency[k]
		labels := `route="` + k.route + `",class="` + k.class + `"`
		var cum uint64
		for i, le := range httpBuckets {
			cum += hg.counts[i].Load()
			e.Sample("wotmq_http_request_duration_seconds_bucket", labels+`,le="`+strconv.FormatFloat(le, 'g', -1, 64)+`"`, float64(cum))
		}
		cum += hg.counts[len(httpBuckets)].Load()
		e.Sample("wotmq_http_request_duration_seconds_bucket", labels+`,le="+Inf"`, float64(cum))
		e.Sample("wotmq_http_request_duration_seconds_sum", labels, time.Duration(hg.sum.Load()).Seconds())
		e.Sample("wotmq_http_request_duration_seconds_count", labels, float64(cum))
	}
}

// httpMethod bounds the method label: the methods the binding serves, and
// "other".
func httpMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPut, http.MethodPost, http.MethodPatch, http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

// httpRoute is the template of an (escaped) request path of the HTTP
// binding (docs/http.md), "other" for a path it does not serve. Thing IDs
// are one escaped segment, so they never add segments.
func httpRoute(p string) string {
	if p == "/.well-known/wot" {
		return p
	}
	seg := strings.Split(strings.Trim(p, "/"), "/")
	switch {
	case seg[0] == "things" && len(seg) == 1:
		return "/things"
	case seg[0] == "things" && len(seg) == 2:
		return "/things/{id}"
	case seg[0] == "things":
		if r := thingRoute(seg[2:]); r != "" {
			return "/things/{id}/" + r
		}
	case seg[0] == "events" && len(seg) == 1:
		return "/events"
	case seg[0] == "events" && len(seg) == 2:
		return "/events/{type}"
	case seg[0] == "explorer" && len(seg) > 1 && seg[1] == "api":
		return "/explorer/api" // the explorer's page script, passed on to the binding
	case seg[0] == "explorer":
		return "/explorer" // the explorer's pages and files
	}
	return "other"
}

// thingRoute is the template of the segments after /things/{id}.
func thingRoute(seg []string) string {
	switch {
	case len(seg) == 1 && (seg[0] == "properties" || seg[0] == "actions" || seg[0] == "events" || seg[0] == "history"):
		return seg[0]
	case len(seg) == 2 && seg[0] == "properties":
		return "properties/{name}"
	case len(seg) == 3 && seg[0] == "properties" && seg[2] == "history":
		return "properties/{name}/history"
	case len(seg) == 4 && seg[0] == "properties" && seg[2] == "writes":
		return "properties/{name}/writes/{request}"
	case len(seg) == 2 && seg[0] == "actions":
		return "actions/{name}"
	case len(seg) == 3 && seg[0] == "actions" && seg[2] == "history":
		return "actions/{name}/history"
	case len(seg) == 3 && seg[0] == "actions":
		return "actions/{name}/{request}"
	case len(seg) == 2 && seg[0] == "events":
		return "events/{name}"
	case len(seg) == 3 && seg[0] == "events" && seg[2] == "history":
		return "events/{name}/history"
	}
	return ""
}

// codeRecorder remembers the status code. Unwrap lets
// http.ResponseController reach the connection (Flush for event streams).
type codeRecorder struct {
	http.ResponseWriter
	code int
}

func (c *codeRecorder) WriteHeader(code int) {
	if c.code == 0 {
		c.code = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *codeRecorder) Write(b []byte) (int, error) {
	if c.code == 0 {
		c.code = http.StatusOK
	}
	return c.ResponseWriter.Write(b)
}

func (c *codeRecorder) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// Flush passes a flush through for handlers that test for http.Flusher
// rather than use http.ResponseController.
func (c *codeRecorder) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}
