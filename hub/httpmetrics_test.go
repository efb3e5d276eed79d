package hub

import (
	"bufio"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/exposition"
)

func TestHTTPRoute(t *testing.T) {
	for path, want := range map[string]string{
		"/.well-known/wot":                                     "/.well-known/wot",
		"/things":                                              "/things",
		"/things/":                                             "/things",
		"/things/urn:dev:ops:lamp-1":                           "/things/{id}",
		"/things/urn%3Adev%2Fwith%2Fslashes":                   "/things/{id}",
		"/things/lamp/properties":                              "/things/{id}/properties",
		"/things/lamp/properties/brightness":                   "/things/{id}/properties/{name}",
		"/things/lamp/properties/brightness/history":           "/things/{id}/properties/{name}/history",
		"/things/lamp/properties/brightness/writes/0190-abcd":  "/things/{id}/properties/{name}/writes/{request}",
		"/things/lamp/actions":                                 "/things/{id}/actions",
		"/things/lamp/actions/toggle":                          "/things/{id}/actions/{name}",
		"/things/lamp/actions/toggle/history":                  "/things/{id}/actions/{name}/history",
		"/things/lamp/actions/toggle/0190-abcd":                "/things/{id}/actions/{name}/{request}",
		"/things/lamp/events":                                  "/things/{id}/events",
		"/things/lamp/events/overheating":                      "/things/{id}/events/{name}",
		"/things/lamp/history":                                 "/things/{id}/history",
		"/events":                                              "/events",
		"/events/thing_created":                                "/events/{type}",
		"/":                                                    "other",
		"/favicon.ico":                                         "other",
		"/things/lamp/nonsense/a/b/c":                          "other",
		"/things/lamp/properties/brightness/writes/1/2/3/4/5/": "other",
	} {
		if got := httpRoute(path); got != want {
			t.Errorf("httpRoute(%q) = %q, want %q", path, got, want)
		}
	}
}

func TestHTTPStats(t *testing.T) {
	var s httpStats
	h := s.wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case strings.HasSuffix(r.URL.Path, "/events/overheating"):
			w.Header().Set("Content-Type", "text/event-stream")
			http.NewResponseController(w).Flush() // reaches the connection through the recorder
		case strings.HasPrefix(r.URL.Path, "/things/"):
			w.Write([]byte("{}"))
		default:
			http.NotFound(w, r)
		}
	}))
	for _, p := range []string{"/things/a", "/things/b", "/things/c/events/overheating", "/nothing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", p, nil))
	}
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("BREW", "/things/a", nil))
	var b strings.Builder
	w := bufio.NewWriter(&b)
	s.write(exposition.NewWriter(w))
	w.Flush()
	out := b.String()
	for _, want := range []string{
		`wotmq_http_requests_total{route="/things/{id}",method="GET",code="200"} 2`,
		`wotmq_http_requests_total{route="/things/{id}",method="other",code="200"} 1`,
		`wotmq_http_requests_total{route="/things/{id}/events/{name}",method="GET",code="200"} 1`,
		`wotmq_http_requests_total{route="other",method="GET",code="404"} 1`,
		`wotmq_http_request_duration_seconds_count{route="/things/{id}",class="2xx"} 3`,
		`wotmq_http_request_duration_seconds_bucket{route="other",class="4xx",le="+Inf"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("exposition lacks %s:\n%s", want, out)
		}
	}
	if strings.Contains(out, `duration_seconds_count{route="/things/{id}/events/{name}"`) {
		t.Errorf("an event stream was timed:\n%s", out)
	}
}
