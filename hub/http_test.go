package hub_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/httpapi"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

// withHTTP turns on the hub's HTTP listener on 127.0.0.1:0.
func withHTTP(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0" }

// webClient makes HTTP requests to a hub.
type webClient struct {
	tb   testing.TB
	base string
	hdr  http.Header // sent with every request
}

func newWeb(tb testing.TB, h *hub.Hub, hdr ...string) *webClient {
	tb.Helper()
	if h.HTTPAddr() == "" {
		tb.Fatal("the hub has no HTTP listener")
	}
	w := &webClient{tb: tb, base: "http://" + h.HTTPAddr(), hdr: http.Header{}}
	for i := 0; i+1 < len(hdr); i += 2 {
		w.hdr.Add(hdr[i], hdr[i+1])
	}
	return w
}

// webReply is a whole HTTP response.
type webReply struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request (header pairs after the body) and reads the whole
// response.
func (w *webClient) do(method, path string, body []byte, hdr ...string) webReply {
	w.tb.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, w.base+path, rd)
	if err != nil {
		w.tb.Fatal(err)
	}
	req.Header = w.hdr.Clone()
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	client := &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.Do(req)
	if err != nil {
		w.tb.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		w.tb.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return webReply{status: resp.StatusCode, header: resp.Header, body: b}
}

// want fails the test unless the reply has the status.
func (r webReply) want(tb testing.TB, status int) webReply {
	tb.Helper()
	if r.status != status {
		tb.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// problem checks that the reply is a problem with the status and code.
func (r webReply) problem(tb testing.TB, status int, code wot.Code) httpapi.Problem {
	tb.Helper()
	var p httpapi.Problem
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		tb.Fatalf("status %d, Content-Type %q, want a problem: %s", r.status, ct, r.body)
	}
	if err := json.Unmarshal(r.body, &p); err != nil {
		tb.Fatalf("problem body: %v: %s", err, r.body)
	}
	if r.status != status || p.Status != status || p.Code != code {
		tb.Fatalf("got %d %s (body status %d), want %d %s: %s", r.status, p.Code, p.Status, status, code, r.body)
	}
	if p.Type != httpapi.ProblemTypeBase+string(code) || p.Title != http.StatusText(status) {
		tb.Errorf("problem type %q title %q", p.Type, p.Title)
	}
	if code.HTTPStatus() != status {
		tb.Errorf("code %s maps to %d, the reply has %d", code, code.HTTPStatus(), status)
	}
	return p
}

func (r webReply) json(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("body: %v: %s", err, r.body)
	}
}

// sseEvent is one Server-Sent Event.
type sseEvent struct{ id, event, data string }

// sseStream reads an event stream in the background.
type sseStream struct {
	tb     testing.TB
	resp   *http.Response
	events chan sseEvent
	closed chan struct{} // closed when the server ends the stream
}

// stream opens an event stream (GET with Accept: text/event-stream) and
// fails the test unless it opens with 200.
func (w *webClient) stream(path string, hdr ...string) *sseStream {
	w.tb.Helper()
	s, r := w.tryStream(path, hdr...)
	if s == nil {
		w.tb.Fatalf("stream %s: status %d: %s", path, r.status, r.body)
	}
	return s
}

// tryStream opens an event stream; a refusal returns nil and the reply.
func (w *webClient) tryStream(path string, hdr ...string) (*sseStream, webReply) {
	w.tb.Helper()
	req, err := http.NewRequest(http.MethodGet, w.base+path, nil)
	if err != nil {
		w.tb.Fatal(err)
	}
	req.Header = w.hdr.Clone()
	req.Header.Set("Accept", "text/event-stream")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.tb.Fatalf("stream %s: %v", path, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return nil, webReply{status: resp.StatusCode, header: resp.Header, body: b}
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		w.tb.Fatalf("stream %s: Content-Type %q", path, ct)
	}
	s := &sseStream{tb: w.tb, resp: resp, events: make(chan sseEvent, 1024), closed: make(chan struct{})}
	go s.read()
	w.tb.Cleanup(func() { resp.Body.Close() })
	return s, webReply{status: resp.StatusCode, header: resp.Header}
}

func (s *sseStream) read() {
	defer close(s.closed)
	sc := bufio.NewScanner(s.resp.Body)
	var ev sseEvent
	var data []string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "":
			if data != nil {
				ev.data = strings.Join(data, "\n")
				s.events <- ev
			}
			ev, data = sseEvent{}, nil
		case strings.HasPrefix(line, ":"):
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		case strings.HasPrefix(line, "id: "):
			ev.id = strings.TrimPrefix(line, "id: ")
		case strings.HasPrefix(line, "event: "):
			ev.event = strings.TrimPrefix(line, "event: ")
		}
	}
}

// next returns the next event or fails the test after a deadline.
func (s *sseStream) next() sseEvent {
	s.tb.Helper()
	select {
	case ev := <-s.events:
		return ev
	case <-s.closed:
		select {
		case ev := <-s.events:
			return ev
		default:
		}
		s.tb.Fatal("the event stream ended")
	case <-time.After(30 * time.Second):
		s.tb.Fatal("no event within 5s")
	}
	return sseEvent{}
}

// ended waits for the server to end the stream.
func (s *sseStream) ended() {
	s.tb.Helper()
	select {
	case <-s.closed:
	case <-time.After(30 * time.Second):
		s.tb.Fatal("the event stream did not end within 5s")
	}
}

// lampHub starts a development hub with HTTP and the lamp registered by an
// agent that is subscribed to its requests.
func lampHub(t *testing.T, mod ...func(*hub.Options)) (*hub.Hub, *client, *webClient) {
	t.Helper()
	h := startHub(t, t.TempDir(), append([]func(*hub.Options){withHTTP}, mod...)...)
	agent := registerLamp(t, h)
	agent.subscribe(wot.RequestsTopic("lamp-agent"))
	return h, agent, newWeb(t, h)
}

// lampPath is the escaped path of the lamp's twin.
const lampPath = "/things/urn:dev:ops:32473-WoTLamp-1234"

func TestHTTPProperties(t *testing.T) {
	_, agent, web := lampHub(t)
	t.Run("ReadsTheReportedValue", func(t *testing.T) {
		web.do("GET", lampPath+"/properties/brightness", nil).problem(t, 404, wot.CodeNoValue)
		agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("42"), nil)
		r := web.do("GET", lampPath+"/properties/brightness", nil).want(t, 200)
		if string(r.body) != "42" || r.header.Get("Content-Type") != "application/json" || r.header.Get("Last-Modified") == "" {
			t.Errorf("read %q %v", r.body, r.header)
		}
	})
	t.Run("ReadsAllProperties", func(t *testing.T) {
		agent.mustPublish(agentTopic(wot.TopicAgentProperty, "on"), []byte("true"), nil)
		var all map[string]json.RawMessage
		web.do("GET", lampPath+"/properties", nil).want(t, 200).json(t, &all)
		if string(all["on"]) != "true" || string(all["brightness"]) != "42" || len(all) != 2 {
			t.Errorf("all properties %v", all)
		}
	})
	t.Run("WritesAndWaitsForTheAgent", func(t *testing.T) {
		done := make(chan webReply, 1)
		go func() { done <- web.do("PUT", lampPath+"/properties/brightness", []byte("70")) }()
		req := agent.next(wot.RequestsTopic("lamp-agent"))
		if string(req.Payload) != "70" || userProp(req, wot.PropOp) != wot.OpWriteProperty || userProp(req, wot.PropSender) != httpapi.AnonymousHTTP {
			t.Errorf("agent got %s %v", req.Payload, req.Properties.User)
		}
		agent.answer(req, wot.StatusCompleted, nil)
		r := <-done
		r.want(t, 204)
	})
	t.Run("WriteAnswers202WhenTheAgentIsSlow", func(t *testing.T) {
		r := web.do("PUT", lampPath+"/properties/brightness?timeout=0", []byte("71")).want(t, 202)
		var st wot.ActionStatus
		r.json(t, &st)
		loc := r.header.Get("Location")
		if st.Op != wot.OpWriteProperty || loc != lampPath+"/properties/brightness/writes/"+st.ID {
			t.Fatalf("status %+v at %s", st, loc)
		}
		req := agent.next(wot.RequestsTopic("lamp-agent"))
		agent.answer(req, wot.StatusCompleted, nil)
		for {
			var cur wot.ActionStatus
			web.do("GET", loc, nil).want(t, 200).json(t, &cur)
			if cur.Status == wot.StatusCompleted {
				break
			}
		}
	})
	t.Run("RefusesBadValues", func(t *testing.T) {
		web.do("PUT", lampPath+"/properties/brightness", []byte(`"bright"`)).problem(t, 400, wot.CodeInvalidPayload)
		web.do("PUT", lampPath+"/properties/brightness", []byte(`101`)).problem(t, 400, wot.CodeInvalidPayload)
		web.do("PUT", lampPath+"/properties/brightness", nil).problem(t, 400, wot.CodeInvalidPayload)
		web.do("PUT", lampPath+"/properties/model", []byte(`"x"`)).problem(t, 405, wot.CodeReadOnly)
		web.do("PUT", lampPath+"/properties/nope", []byte(`1`)).problem(t, 404, wot.CodeUnknownAffordance)
		web.do("GET", lampPath+"/properties/nope", nil).problem(t, 404, wot.CodeUnknownAffordance)
		web.do("PUT", lampPath+"/properties/brightness?timeout=soon", []byte(`1`)).problem(t, 400, wot.CodeInvalidPayload)
		web.do("PUT", lampPath+"/properties/brightness", bytes.Repeat([]byte(" "), 2<<20)).problem(t, 413, wot.CodeTooLarge)
	})
	t.Run("FailedWriteIsAProblem", func(t *testing.T) {
		done := make(chan webReply, 1)
		go func() { done <- web.do("PUT", lampPath+"/properties/brightness", []byte("5")) }()
		req := agent.next(wot.RequestsTopic("lamp-agent"))
		agent.answer(req, wot.StatusFailed, []byte(`{"code":"agent_error","message":"stuck"}`))
		p := (<-done).problem(t, 502, wot.CodeAgentError)
		if p.Detail != "stuck" || !strings.Contains(p.Instance, "/writes/") {
			t.Errorf("problem %+v", p)
		}
	})
	t.Run("UnknownThing", func(t *testing.T) {
		web.do("GET", "/things/urn:nope/properties/brightness", nil).problem(t, 404, wot.CodeUnknownThing)
		web.do("PUT", "/things/urn:nope/properties/brightness", []byte("1")).problem(t, 404, wot.CodeUnknownThing)
	})
	t.Run("WrongMethod", func(t *testing.T) {
		r := web.do("POST", lampPath+"/properties/brightness", []byte("1"))
		r.problem(t, 405, wot.CodeMethodNotAllowed)
		if r.header.Get("Allow") != "GET, PUT" {
			t.Errorf("Allow %q", r.header.Get("Allow"))
		}
		web.do("DELETE", lampPath+"/properties", nil).problem(t, 405, wot.CodeMethodNotAllowed)
	})
}

func TestHTTPActions(t *testing.T) {
	h, agent, web := lampHub(t)
	t.Run("InvokeWaitsForTheOutput", func(t *testing.T) {
		done := make(chan webReply, 1)
		go func() { done <- web.do("POST", lampPath+"/actions/fade", []byte(`{"to":30}`)) }()
		req := agent.next(wot.RequestsTopic("lamp-agent"))
		if string(req.Payload) != `{"to":30}` || userProp(req, wot.PropOp) != wot.OpInvokeAction {
			t.Errorf("agent got %s", req.Payload)
		}
		agent.answer(req, wot.StatusRunning, []byte(`{"at":10}`))
		agent.answer(req, wot.StatusCompleted, []byte("30"))
		r := (<-done).want(t, 200)
		if string(r.body) != "30" || r.header.Get("Content-Type") != "application/json" {
			t.Errorf("output %q %v", r.body, r.header)
		}
	})
	var slow wot.ActionStatus
	var slowLoc string
	t.Run("InvokeAnswers201WithTheStatusURL", func(t *testing.T) {
		r := web.do("POST", lampPath+"/actions/fade?timeout=10ms", []byte(`{"to":40}`)).want(t, 201)
		r.json(t, &slow)
		slowLoc = r.header.Get("Location")
		if slowLoc != lampPath+"/actions/fade/"+slow.ID || slow.Status != wot.StatusDelivered || slow.Sender != httpapi.AnonymousHTTP {
			t.Fatalf("status %+v at %s", slow, slowLoc)
		}
		agent.next(wot.RequestsTopic("lamp-agent"))
	})
	t.Run("QueryAction", func(t *testing.T) {
		var st wot.ActionStatus
		web.do("GET", slowLoc, nil).want(t, 200).json(t, &st)
		if st.ID != slow.ID || st.Status != wot.StatusDelivered {
			t.Errorf("queryaction %+v", st)
		}
		web.do("GET", lampPath+"/actions/fade", nil).want(t, 200).json(t, &st)
		if st.ID != slow.ID {
			t.Errorf("newest request %+v", st)
		}
		var all map[string]wot.ActionStatus
		web.do("GET", lampPath+"/actions", nil).want(t, 200).json(t, &all)
		if all["fade"].ID != slow.ID || len(all) != 1 {
			t.Errorf("queryallactions %+v", all)
		}
		web.do("GET", lampPath+"/actions/toggle", nil).problem(t, 404, wot.CodeNoValue)
		web.do("GET", lampPath+"/actions/fade/0123456789abcdef", nil).problem(t, 404, wot.CodeUnknownAffordance)
		web.do("GET", lampPath+"/actions/toggle/"+slow.ID, nil).problem(t, 404, wot.CodeUnknownAffordance)
	})
	t.Run("BusyWhileOneRuns", func(t *testing.T) {
		p := web.do("POST", lampPath+"/actions/fade", []byte(`{"to":50}`)).problem(t, 409, wot.CodeBusy)
		if p.Instance != "" {
			t.Errorf("a refused request has no status URL: %q", p.Instance)
		}
	})
	t.Run("CancelByDelete", func(t *testing.T) {
		var st wot.ActionStatus
		web.do("DELETE", slowLoc, nil).want(t, 200).json(t, &st)
		if st.ID != slow.ID {
			t.Errorf("cancel answered %+v", st)
		}
		c := agent.next(wot.RequestsTopic("lamp-agent")) // the agent is online: it is asked to stop
		if userProp(c, wot.PropOp) != wot.OpCancelAction || userProp(c, wot.PropActionID) != slow.ID {
			t.Errorf("agent got %v", c.Properties.User)
		}
		agent.mustPublish(wot.RepliesTopic("lamp-agent"), []byte(`{"code":"cancelled"}`), reply("", []byte(slow.ID), wot.PropStatus, "failed"))
		for {
			web.do("GET", slowLoc, nil).want(t, 200).json(t, &st)
			if st.Status == wot.StatusFailed {
				break
			}
		}
		web.do("DELETE", slowLoc, nil).problem(t, 409, wot.CodeFinished)
		web.do("DELETE", lampPath+"/actions/fade", nil).problem(t, 404, wot.CodeUnknownAffordance)
	})
	t.Run("OutcomeHistory", func(t *testing.T) {
		var hist twin.ActionHistory
		web.do("GET", lampPath+"/actions/fade/history", nil).want(t, 200).json(t, &hist)
		if len(hist.Items) != 2 || hist.Items[0].ID != slow.ID || hist.Items[0].Status != wot.StatusFailed {
			t.Errorf("outcomes %+v", hist.Items)
		}
	})
	t.Run("ActionWithoutInput", func(t *testing.T) {
		done := make(chan webReply, 1)
		go func() { done <- web.do("POST", lampPath+"/actions/toggle", nil) }()
		agent.answer(agent.next(wot.RequestsTopic("lamp-agent")), wot.StatusCompleted, []byte("true"))
		if r := (<-done).want(t, 200); string(r.body) != "true" {
			t.Errorf("output %q", r.body)
		}
	})
	t.Run("FailedActionIsAProblem", func(t *testing.T) {
		done := make(chan webReply, 1)
		go func() { done <- web.do("POST", lampPath+"/actions/toggle", nil) }()
		agent.answer(agent.next(wot.RequestsTopic("lamp-agent")), wot.StatusFailed, []byte(`"jammed"`))
		p := (<-done).problem(t, 502, wot.CodeAgentError)
		if p.Detail != "jammed" || !strings.HasPrefix(p.Instance, lampPath+"/actions/toggle/") {
			t.Errorf("problem %+v", p)
		}
	})
	t.Run("RefusesBadInput", func(t *testing.T) {
		web.do("POST", lampPath+"/actions/fade", []byte(`{"to":"x"}`)).problem(t, 400, wot.CodeInvalidPayload)
		web.do("POST", lampPath+"/actions/fade", []byte(`{`)).problem(t, 400, wot.CodeInvalidPayload)
		web.do("POST", lampPath+"/actions/nope", []byte(`{}`)).problem(t, 404, wot.CodeUnknownAffordance)
		web.do("POST", lampPath+"/actions/fade?timeout=1h", []byte(`{"to":1}`)).problem(t, 400, wot.CodeInvalidPayload)
		web.do("PUT", lampPath+"/actions/fade", nil).problem(t, 405, wot.CodeMethodNotAllowed)
		web.do("POST", lampPath+"/actions", nil).problem(t, 405, wot.CodeMethodNotAllowed)
		web.do("POST", lampPath+"/actions/fade/history", nil).problem(t, 405, wot.CodeMethodNotAllowed)
	})
	t.Run("OfflineAgentAnswersAtOnce", func(t *testing.T) {
		watcher := dial(t, h, "watcher")
		presence := wot.Topic{Kind: wot.TopicPresence, ThingID: lampID}.String()
		watcher.subscribe(presence)
		agent.Disconnect(&paho.Disconnect{})
		for !strings.Contains(string(watcher.next(presence).Payload), `"offline"`) {
		}
		r := web.do("POST", lampPath+"/actions/toggle", nil).want(t, 201)
		var st wot.ActionStatus
		r.json(t, &st)
		if st.Status != wot.StatusPending {
			t.Errorf("status %+v", st)
		}
	})
}

func TestHTTPHistory(t *testing.T) {
	_, agent, web := lampHub(t)
	for i := range 5 {
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(strings.Repeat("9", i+1)), nil)
	}
	agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("3"), nil)
	t.Run("PagesWithCursor", func(t *testing.T) {
		r := web.do("GET", lampPath+"/events/overheating?limit=2", nil).want(t, 200)
		var page wot.HistoryPage
		r.json(t, &page)
		if len(page.Items) != 2 || string(page.Items[0].Value) != "9" || page.Next == "" {
			t.Fatalf("page %+v", page)
		}
		link := r.header.Get("Link")
		if !strings.Contains(link, "cursor="+page.Next) || !strings.HasSuffix(link, `rel="next"`) {
			t.Errorf("Link %q", link)
		}
		var second wot.HistoryPage
		web.do("GET", lampPath+"/events/overheating?limit=10&cursor="+page.Next, nil).want(t, 200).json(t, &second)
		if len(second.Items) != 3 || string(second.Items[2].Value) != "99999" || second.Next != "" {
			t.Errorf("second page %+v", second)
		}
	})
	t.Run("TimeRange", func(t *testing.T) {
		var page wot.HistoryPage
		web.do("GET", lampPath+"/events/overheating?to=2000-01-01T00:00:00Z", nil).want(t, 200).json(t, &page)
		if len(page.Items) != 0 {
			t.Errorf("items before 2000: %+v", page.Items)
		}
		web.do("GET", lampPath+"/events/overheating?from=2000-01-01T00:00:00Z", nil).want(t, 200).json(t, &page)
		if len(page.Items) != 5 {
			t.Errorf("%d items since 2000", len(page.Items))
		}
	})
	t.Run("AllEventsPropertiesAndEverything", func(t *testing.T) {
		var page wot.HistoryPage
		web.do("GET", lampPath+"/events", nil).want(t, 200).json(t, &page)
		for _, it := range page.Items {
			if it.Kind != wot.KindEvent {
				t.Errorf("event history has %+v", it)
			}
		}
		web.do("GET", lampPath+"/properties/brightness/history", nil).want(t, 200).json(t, &page)
		if len(page.Items) != 1 || string(page.Items[0].Value) != "3" {
			t.Errorf("property history %+v", page.Items)
		}
		web.do("GET", lampPath+"/history", nil).want(t, 200).json(t, &page)
		if len(page.Items) < 6 {
			t.Errorf("thing history has %d items", len(page.Items))
		}
	})
	t.Run("BadQueries", func(t *testing.T) {
		for _, q := range []string{"limit=0", "limit=1001", "limit=x", "from=yesterday", "to=1", "cursor=zz"} {
			web.do("GET", lampPath+"/events/overheating?"+q, nil).problem(t, 400, wot.CodeInvalidPayload)
		}
		web.do("GET", lampPath+"/events/nope", nil).problem(t, 404, wot.CodeUnknownAffordance)
		web.do("GET", lampPath+"/properties/nope/history", nil).problem(t, 404, wot.CodeUnknownAffordance)
	})
}

func TestHTTPPaths(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP)
	agent := dial(t, h, "odd-agent")
	const id = "urn:x/../y z%"
	agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "odd-agent", ThingID: id}.String(),
		[]byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"odd","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",
		"properties":{"a/b":{"type":"integer"},"w":{"type":"integer","writeOnly":true}}}`), nil)
	agent.mustPublish(wot.Topic{Kind: wot.TopicAgentProperty, AgentID: "odd-agent", ThingID: id, Name: "a/b"}.String(), []byte("7"), nil)
	web := newWeb(t, h)
	t.Run("EscapedIDsStandInOneSegment", func(t *testing.T) {
		r := web.do("GET", "/things/urn:x%2F..%2Fy%20z%25/properties/a%2Fb", nil).want(t, 200)
		if string(r.body) != "7" {
			t.Errorf("value %q", r.body)
		}
	})
	t.Run("WriteOnlyPropertyIsNotReadable", func(t *testing.T) {
		r := web.do("GET", "/things/urn:x%2F..%2Fy%20z%25/properties/w", nil)
		r.problem(t, 405, wot.CodeMethodNotAllowed)
		if r.header.Get("Allow") != "PUT" {
			t.Errorf("Allow %q", r.header.Get("Allow"))
		}
		_, r = web.tryStream("/things/urn:x%2F..%2Fy%20z%25/properties/w")
		r.problem(t, 405, wot.CodeMethodNotAllowed)
		var all map[string]any
		web.do("GET", "/things/urn:x%2F..%2Fy%20z%25/properties", nil).want(t, 200).json(t, &all)
		if _, ok := all["w"]; ok || len(all) != 1 {
			t.Errorf("readallproperties %v", all)
		}
	})
	t.Run("UnknownPaths", func(t *testing.T) {
		for _, p := range []string{"/", "/nope", "/things/urn:x%2F..%2Fy%20z%25/nope", "/things/a/properties/b/c/d/e", "/things//properties", "/events/nope"} {
			web.do("GET", p, nil).problem(t, 404, wot.CodeNotFound)
		}
	})
	t.Run("CORS", func(t *testing.T) {
		r := web.do("OPTIONS", lampPath+"/properties/on", nil, "Origin", "https://app.example", "Access-Control-Request-Method", "PUT")
		r.want(t, 204)
		if r.header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.header.Get("Access-Control-Allow-Headers"), "Authorization") {
			t.Errorf("preflight headers %v", r.header)
		}
	})
}

func TestHTTPOff(t *testing.T) {
	h := startHub(t, t.TempDir())
	if h.HTTPAddr() != "" || h.HTTPSAddr() != "" {
		t.Errorf("HTTP listening at %q %q", h.HTTPAddr(), h.HTTPSAddr())
	}
	agent := registerLamp(t, h)
	c := dial(t, h, "c")
	c.subscribe(wot.TDTopic(lampID))
	if bytes.Contains(c.next(wot.TDTopic(lampID)).Payload, []byte("http://")) {
		t.Error("twin TD has HTTP forms with HTTP off")
	}
	_ = agent
}

func TestHTTPActionWithoutOutput(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP)
	agent := dial(t, h, "agent2")
	agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "agent2", ThingID: "urn:t:x"}.String(), thingTD("urn:t:x"), nil)
	agent.subscribe(wot.RequestsTopic("agent2"))
	web := newWeb(t, h)
	done := make(chan webReply, 1)
	go func() { done <- web.do("POST", "/things/urn:t:x/actions/a", nil) }()
	agent.answer(agent.next(wot.RequestsTopic("agent2")), wot.StatusCompleted, nil)
	if r := (<-done).want(t, 204); len(r.body) != 0 {
		t.Errorf("body %q", r.body)
	}
}
