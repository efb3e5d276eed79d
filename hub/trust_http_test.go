package hub_test

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/httpapi"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// Tests of the HTTP side's trust boundary (issue 12): timeouts, stream
// caps, the disk reserve, HTTP/2, body limits and media types.

// webTLSHub starts a development hub with HTTP and HTTPS on 127.0.0.1:0
// (both, as wotmq serve runs them), and returns a client that trusts its
// certificate and attempts HTTP/2.
func webTLSHub(t *testing.T, mod ...func(*hub.Options)) (*hub.Hub, *http.Client) {
	t.Helper()
	ca, caKey := newCert(t, "wotmq test CA", nil, nil, true)
	srvCert, srvKey := newCert(t, "localhost", ca, caKey, false)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}}, MinVersion: tls.VersionTLS12}
	h := startHub(t, t.TempDir(), append([]func(*hub.Options){func(o *hub.Options) {
		o.TLS, o.TLSAddr, o.WSSAddr = cfg, "off", "off"
		o.HTTPAddr, o.HTTPSAddr = "127.0.0.1:0", "127.0.0.1:0"
	}}, mod...)...)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, ForceAttemptHTTP2: true}
	t.Cleanup(tr.CloseIdleConnections)
	return h, &http.Client{Transport: tr, Timeout: 30 * time.Second}
}

// webRaw sends raw bytes to the hub's HTTP listener and returns the
// connection, with a generous read deadline as the last-resort bound.
func webRaw(t *testing.T, h *hub.Hub, head string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", h.HTTPAddr())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	return c
}

// webTrickle sends the head of a request, then one byte every tick until
// the hub stops reading, and returns what the hub answered: the status
// code of a response, or 0 when it closed the connection without one.
// It fails the test if the hub keeps the connection open.
func webTrickle(t *testing.T, h *hub.Hub, head string, tick time.Duration) int {
	t.Helper()
	c := webRaw(t, h, head)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tk := time.NewTicker(tick) // the slow client's pace, not a wait
		defer tk.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tk.C:
				if _, err := c.Write([]byte("1")); err != nil {
					return
				}
			}
		}
	}()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		t.Fatalf("the hub kept a trickling request open for 30s")
	case err != nil:
		return 0 // closed without an answer
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, resp.Body)
	if _, err := br.ReadByte(); err == nil {
		t.Errorf("the hub kept reading after answering %d", resp.StatusCode)
	}
	return resp.StatusCode
}

// webTrickleBody is a write whose body never ends.
const webTrickleBody = "PUT " + lampPath + "/properties/brightness HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"

func TestHTTPTimeouts(t *testing.T) {
	h, agent, web := lampHub(t, func(o *hub.Options) {
		o.HTTPReadTimeout = time.Second
		o.HTTPIdleTimeout = time.Second
	})
	t.Run("TricklingBodyIsCut", func(t *testing.T) {
		if code := webTrickle(t, h, webTrickleBody, 100*time.Millisecond); code != 0 && code != http.StatusRequestTimeout {
			t.Errorf("answered %d, want 408 or a closed connection", code)
		}
	})
	t.Run("TricklingHeadersAreCut", func(t *testing.T) {
		if code := webTrickle(t, h, "GET /things HTTP/1.1\r\nHost: hub\r\nX-Slow: ", 100*time.Millisecond); code != 0 && code != http.StatusRequestTimeout {
			t.Errorf("answered %d, want 408 or a closed connection", code)
		}
	})
	t.Run("IdleConnectionIsClosed", func(t *testing.T) {
		c := webRaw(t, h, "GET /things HTTP/1.1\r\nHost: hub\r\n\r\n")
		br := bufio.NewReader(c)
		resp, err := http.ReadResponse(br, nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%v %v", resp, err)
		}
		io.Copy(io.Discard, resp.Body)
		if _, err := br.ReadByte(); !errors.Is(err, io.EOF) {
			t.Errorf("idle connection: %v, want EOF", err)
		}
	})
	t.Run("EventStreamOutlivesTheTimeouts", func(t *testing.T) {
		s := web.stream(lampPath + "/events/overheating")
		webTrickle(t, h, webTrickleBody, 100*time.Millisecond) // the read timeout has passed once this ends
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("81.5"), nil)
		if ev := s.next(); ev.data != "81.5" {
			t.Errorf("event %+v", ev)
		}
	})
	t.Run("InvokeWaitOutlivesTheTimeouts", func(t *testing.T) {
		done := make(chan webReply, 1)
		go func() { done <- web.do("POST", lampPath+"/actions/fade?timeout=60s", []byte(`{"to":30}`)) }()
		req := agent.next(wot.RequestsTopic("lamp-agent"))
		webTrickle(t, h, webTrickleBody, 100*time.Millisecond)
		agent.answer(req, wot.StatusCompleted, []byte("30"))
		if r := (<-done).want(t, 200); string(r.body) != "30" {
			t.Errorf("output %q", r.body)
		}
	})
}

// webClose ends an event stream from the client's side.
func webClose(s *sseStream) { s.resp.Body.Close() }

func TestHTTPStreamCap(t *testing.T) {
	h, _, _ := lampHub(t, func(o *hub.Options) { o.Limits.MaxStreams = 3 })
	a := newWeb(t, h, "Authorization", basic("viewer-a", ""))
	b := newWeb(t, h, "Authorization", basic("viewer-b", ""))
	var open []*sseStream
	for _, p := range []string{lampPath + "/events/overheating", lampPath + "/properties", "/events"} {
		open = append(open, a.stream(p))
	}
	t.Run("OneMoreIsRefused", func(t *testing.T) {
		s, r := a.tryStream(lampPath + "/events")
		if s != nil {
			t.Fatal("a fourth stream opened")
		}
		r.problem(t, http.StatusTooManyRequests, wot.CodeQuota)
	})
	t.Run("OtherAccountsAreNotCounted", func(t *testing.T) {
		b.stream(lampPath + "/events")
	})
	t.Run("AClosedStreamFreesItsPlace", func(t *testing.T) {
		webClose(open[0])
		hubtest.WaitFor(t, "a free stream", func() bool {
			s, r := a.tryStream(lampPath + "/events")
			if s == nil && r.status != http.StatusTooManyRequests {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			return s != nil
		})
	})
}

// webReadyz returns the body of /readyz.
func webReadyz(t *testing.T, h *hub.Hub) string {
	t.Helper()
	code, body := httpStatus(t, h, "/readyz")
	if code != 200 {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	return body
}

// webDiskHub starts a lamp hub whose free disk space the test sets.
func webDiskHub(t *testing.T, free *atomic.Uint64, every time.Duration) (*hub.Hub, *client, *webClient) {
	t.Helper()
	return lampHub(t, func(o *hub.Options) {
		o.MetricsAddr = "127.0.0.1:0"
		o.Limits.MinFreeDisk = 64 << 20
		o.Limits.MaxPayload = 4 << 20
		o.Limits.DiskCheckInterval = every
		o.Limits.FreeSpace = func(string) (uint64, error) { return free.Load(), nil }
	})
}

func TestHTTPDiskReserve(t *testing.T) {
	t.Run("EveryWritePathRefuses", func(t *testing.T) {
		var free atomic.Uint64
		free.Store(1 << 40)
		h, agent, web := webDiskHub(t, &free, 5*time.Millisecond)
		// A request to cancel later, made while there is space.
		var st wot.ActionStatus
		web.do("POST", lampPath+"/actions/fade?timeout=0", []byte(`{"to":1}`)).want(t, 201).json(t, &st)
		agent.next(wot.RequestsTopic("lamp-agent"))
		web.do("PUT", "/things/urn:t:doomed", smallTD("", "Doomed"), "Content-Type", "application/td+json").want(t, 201)
		free.Store(10 << 20)
		hubtest.WaitFor(t, "the disk guard", func() bool { return strings.Contains(webReadyz(t, h), "writes refused") })
		for _, w := range []struct {
			method, path string
			body         []byte
			ct           string
		}{
			{"PUT", lampPath + "/properties/brightness", []byte("5"), "application/json"},
			{"POST", lampPath + "/actions/toggle", nil, ""},
			{"DELETE", lampPath + "/actions/fade/" + st.ID, nil, ""},
			{"PUT", "/things/urn:t:new", smallTD("", "New"), "application/td+json"},
			{"POST", "/things", smallTD("", "Anonymous"), "application/td+json"},
			{"PATCH", "/things/urn:t:doomed", []byte(`{"title":"x"}`), "application/merge-patch+json"},
			{"DELETE", "/things/urn:t:doomed", nil, ""},
		} {
			hdr := []string{}
			if w.ct != "" {
				hdr = []string{"Content-Type", w.ct}
			}
			t.Run(w.method+strings.ReplaceAll(w.path, "/", "_"), func(t *testing.T) {
				web.do(w.method, w.path, w.body, hdr...).problem(t, http.StatusInsufficientStorage, wot.CodeStorageFull)
			})
		}
		// Reads go on; writes come back with the space.
		web.do("GET", "/things/urn:t:doomed", nil).want(t, 200)
		free.Store(1 << 40)
		hubtest.WaitFor(t, "writes accepted again", func() bool {
			return web.do("PUT", lampPath+"/properties/brightness?timeout=0", []byte("6")).status == http.StatusAccepted
		})
	})
	t.Run("ReadyzAgreesWithTheWritePath", func(t *testing.T) {
		// One disk check at the start, then none: what the hub writes in
		// between is estimated, as for MQTT publishes.
		var free atomic.Uint64
		free.Store(64<<20 + 1<<20)
		h, agent, web := webDiskHub(t, &free, time.Hour)
		if body := webReadyz(t, h); strings.Contains(body, "refused") {
			t.Fatalf("/readyz before any write: %q", body)
		}
		big := []byte(`"` + strings.Repeat("x", 600<<10) + `"`)
		if rc, reason := agent.publish(agentTopic(wot.TopicAgentEvent, "overheating"), big, nil); rc != 0x97 || !strings.Contains(reason, "storage_full") {
			t.Fatalf("a write past the reserve: %#x %s", rc, reason)
		}
		if body := webReadyz(t, h); !strings.Contains(body, "writes refused") {
			t.Errorf("/readyz while writes are refused: %q", body)
		}
		web.do("PUT", lampPath+"/properties/brightness", []byte("5")).problem(t, http.StatusInsufficientStorage, wot.CodeStorageFull)
	})
}

func TestHTTP2(t *testing.T) {
	// Serving HTTP and HTTPS from one server raced: whichever listener
	// started first decided whether HTTP/2 was set up, while HTTPS always
	// offered h2. Several hubs make the race show on the old code.
	for i := range 8 {
		t.Run(fmt.Sprintf("Hub%d", i), func(t *testing.T) {
			h, c := webTLSHub(t)
			agent := registerLamp(t, h)
			agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("42"), nil)
			base := "https://" + h.HTTPSAddr()
			resp, err := c.Get(base + lampPath)
			if err != nil {
				t.Fatal(err)
			}
			var td map[string]any
			err = json.NewDecoder(resp.Body).Decode(&td)
			resp.Body.Close()
			if err != nil || resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Fatalf("GET over %s: %d %v", resp.Proto, resp.StatusCode, err)
			}
			req, _ := http.NewRequest("GET", base+lampPath+"/properties/brightness", nil)
			req.Header.Set("Accept", "text/event-stream")
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
				t.Fatalf("stream over %s: %d", resp.Proto, resp.StatusCode)
			}
			s := &sseStream{tb: t, resp: resp, events: make(chan sseEvent, 16), closed: make(chan struct{})}
			go s.read()
			if ev := s.next(); ev.data != "42" {
				t.Errorf("first event %+v", ev)
			}
			agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("43"), nil)
			if ev := s.next(); ev.data != "43" {
				t.Errorf("live event %+v", ev)
			}
			// A refused body ends its stream only: the stream above goes on.
			resp, err = c.Post(base+lampPath+"/actions/fade", "application/json", bytes.NewReader(make([]byte, 2<<20)))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			webReply{status: resp.StatusCode, header: resp.Header, body: b}.problem(t, http.StatusRequestEntityTooLarge, wot.CodeTooLarge)
			agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("44"), nil)
			if ev := s.next(); ev.data != "44" || resp.ProtoMajor != 2 {
				t.Errorf("after a 413 over %s: %+v", resp.Proto, ev)
			}
		})
	}
}

// webSendLarge sends a request whose body is n bytes (then tail) and
// returns the answer. A client that sends all first, as Python's
// http.client does, fails the test if the hub resets the connection before
// it could read its answer; otherwise it reads while it sends.
func webSendLarge(t *testing.T, h *hub.Hub, head string, n int, tail string, sendAllFirst bool) (*http.Response, []byte) {
	t.Helper()
	c := webRaw(t, h, head)
	send := func() error {
		chunk := bytes.Repeat([]byte("1"), 64<<10)
		for sent := 0; sent < n; sent += len(chunk) {
			if _, err := c.Write(chunk[:min(len(chunk), n-sent)]); err != nil {
				return err
			}
		}
		_, err := io.WriteString(c, tail)
		return err
	}
	if sendAllFirst {
		if err := send(); err != nil {
			t.Fatalf("the hub reset the connection before the client read its answer: %v", err)
		}
	} else {
		go send()
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("answer %d: body: %v", resp.StatusCode, err)
	}
	return resp, b
}

func TestHTTPBodies(t *testing.T) {
	h, agent, web := lampHub(t)
	owner := newWeb(t, h, "Authorization", basic("lamp-agent", ""))
	t.Run("OversizeBodyGets413", func(t *testing.T) {
		const n = 10 << 20
		for _, tt := range []struct {
			name, head, tail string
			sendAllFirst     bool
		}{
			{"ContentLength", fmt.Sprintf("PUT %s/properties/brightness HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", lampPath, n), "", true},
			{"Chunked", fmt.Sprintf("POST %s/actions/fade HTTP/1.1\r\nHost: hub\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n", lampPath, n), "\r\n0\r\n\r\n", true},
			{"TDReadWhileSending", fmt.Sprintf("PUT /things/urn:t:big HTTP/1.1\r\nHost: hub\r\nContent-Type: application/td+json\r\nContent-Length: %d\r\n\r\n", n), "", false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				resp, body := webSendLarge(t, h, tt.head, n, tt.tail, tt.sendAllFirst)
				webReply{status: resp.StatusCode, header: resp.Header, body: body}.problem(t, http.StatusRequestEntityTooLarge, wot.CodeTooLarge)
			})
		}
		t.Run("Expect100Continue", func(t *testing.T) {
			// The hub answers at once: the client sends nothing.
			c := webRaw(t, h, fmt.Sprintf("PUT %s/properties/brightness HTTP/1.1\r\nHost: hub\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n", lampPath, n))
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			webReply{status: resp.StatusCode, header: resp.Header, body: b}.problem(t, http.StatusRequestEntityTooLarge, wot.CodeTooLarge)
		})
		t.Run("GoClient", func(t *testing.T) {
			web.do("POST", lampPath+"/actions/fade", bytes.Repeat([]byte(" "), n), "Content-Type", "application/json").
				problem(t, http.StatusRequestEntityTooLarge, wot.CodeTooLarge)
		})
	})
	t.Run("NonJSONGets415", func(t *testing.T) {
		for _, ct := range []string{"text/plain", "application/x-www-form-urlencoded", "application/xml", "text/json", "application/json; charset=latin1", "not a media type"} {
			t.Run(strings.ReplaceAll(ct, "/", "_"), func(t *testing.T) {
				web.do("PUT", lampPath+"/properties/brightness", []byte("5"), "Content-Type", ct).problem(t, http.StatusUnsupportedMediaType, wot.CodeUnsupportedMedia)
				web.do("POST", lampPath+"/actions/fade", []byte(`{"to":5}`), "Content-Type", ct).problem(t, http.StatusUnsupportedMediaType, wot.CodeUnsupportedMedia)
				web.do("PUT", "/things/urn:t:ct", smallTD("", "CT"), "Content-Type", ct).problem(t, http.StatusUnsupportedMediaType, wot.CodeUnsupportedMedia)
				web.do("POST", "/things", smallTD("", "CT"), "Content-Type", ct).problem(t, http.StatusUnsupportedMediaType, wot.CodeUnsupportedMedia)
				owner.do("PATCH", lampPath, []byte(`{"title":"x"}`), "Content-Type", ct).problem(t, http.StatusUnsupportedMediaType, wot.CodeUnsupportedMedia)
			})
		}
	})
	t.Run("JSONTypesAreAccepted", func(t *testing.T) {
		for _, ct := range []string{"", "application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.acme+json"} {
			t.Run(strings.ReplaceAll(ct, "/", "_"), func(t *testing.T) {
				hdr := []string{}
				if ct != "" {
					hdr = []string{"Content-Type", ct}
				}
				web.do("PUT", lampPath+"/properties/brightness?timeout=0", []byte("5"), hdr...).want(t, http.StatusAccepted)
				agent.next(wot.RequestsTopic("lamp-agent"))
			})
		}
		web.do("PUT", "/things/urn:t:ct", smallTD("", "CT"), "Content-Type", "application/td+json").want(t, http.StatusCreated)
		web.do("PUT", "/things/urn:t:ct", smallTD("", "CT"), "Content-Type", "application/json").want(t, http.StatusNoContent)
		web.do("PATCH", "/things/urn:t:ct", []byte(`{"title":"x"}`), "Content-Type", "application/merge-patch+json").want(t, http.StatusNoContent)
	})
}

// FuzzHTTPBody sends arbitrary bodies with arbitrary media types to the
// write endpoints of a real hub: every answer is a success or a
// problem+json of a known code, never a 500, and the hub goes on serving.
func FuzzHTTPBody(f *testing.F) {
	// The hub logs into a buffer: a log line through f from inside the
	// fuzz target would panic the worker.
	logs := &lockedBuffer{}
	log := zerolog.New(logs).Level(zerolog.WarnLevel)
	// Writes and invocations answer at once (an input that ran 10 s would
	// count as a hang).
	h := startHub(f, f.TempDir(), withHTTP, func(o *hub.Options) { o.Logger, o.HTTPWait = &log, time.Millisecond })
	agent := registerLamp(f, h)
	agent.subscribe(wot.RequestsTopic("lamp-agent")) // online, never answers: requests stay open
	stop := make(chan struct{})
	f.Cleanup(func() { close(stop) })
	go func() { // its queue must not fill up (that fails the test from the client's goroutine)
		for {
			select {
			case <-agent.Msgs:
			case <-stop:
				return
			}
		}
	}()
	td := string(smallTD("", "Fuzz"))
	for _, s := range []struct {
		target, method uint8
		ct, body       string
	}{
		{0, 0, "application/json", "42"},
		{1, 1, "application/json; charset=utf-8", `{"to":30}`},
		{2, 1, "", ""},
		{3, 0, "application/td+json", td},
		{4, 1, "application/json", td},
		{3, 2, "application/merge-patch+json", `{"title":"x","properties":null}`},
		{5, 2, "application/merge-patch+json", `{"title":null}`},
		{0, 0, "text/plain", "42"},
		{1, 1, "application/x-www-form-urlencoded", "to=30"},
		{3, 0, "application/td+json;;", "{"},
		{0, 0, "application/vnd.x+json", `"\ud800"`},
		{6, 3, "", ""},
		{1, 1, "application/json", `{"to":1e400}`},
	} {
		f.Add(s.target, s.method, s.ct, []byte(s.body))
	}
	targets := []string{
		lampPath + "/properties/brightness?timeout=0",
		lampPath + "/actions/fade?timeout=0",
		lampPath + "/actions/toggle?timeout=0",
		"/things/urn:fuzz:t",
		"/things",
		lampPath,
		lampPath + "/actions/fade",
	}
	methods := []string{"PUT", "POST", "PATCH", "DELETE", "GET"}
	auth := []string{"", basic("lamp-agent", "")} // anonymous, the lamp's owner
	client := &http.Client{Timeout: 30 * time.Second}
	f.Fuzz(func(t *testing.T, target, method uint8, ct string, body []byte) {
		if !webHeaderOK(ct) {
			return // a Content-Type no client can send
		}
		req, err := http.NewRequest(methods[int(method)%len(methods)], "http://"+h.HTTPAddr()+targets[int(target&0x7f)%len(targets)], bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ct != "" {
			req.Header.Set("Content-Type", ct)
		}
		if a := auth[target>>7]; a != "" {
			req.Header.Set("Authorization", a)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		r := webReply{status: resp.StatusCode, header: resp.Header, body: b}
		if r.status >= 200 && r.status < 300 {
			return
		}
		var p httpapi.Problem
		if r.header.Get("Content-Type") != "application/problem+json" || json.Unmarshal(r.body, &p) != nil {
			t.Fatalf("%d without a problem: %q\nhub log:\n%s", r.status, r.body, logs)
		}
		if r.status == http.StatusInternalServerError || p.Status != r.status || !p.Code.Known() || p.Code.HTTPStatus() != r.status {
			t.Fatalf("%d %s: %s\nhub log:\n%s", r.status, p.Code, r.body, logs)
		}
	})
}

// webHeaderOK reports whether a client can send v as a header value (no
// control characters but tab; net/http refuses the others).
func webHeaderOK(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}
