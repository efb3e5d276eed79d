package hub_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// logLines returns the JSON log lines whose message is msg.
func logLines(t *testing.T, logs *lockedBuffer, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if !strings.Contains(line, `"message":"`+msg+`"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		out = append(out, rec)
	}
	return out
}

// withLog sends the hub's log, from level info, as JSON to logs.
func withLog(logs *lockedBuffer) func(*hub.Options) {
	return func(o *hub.Options) {
		l := zerolog.New(logs).Level(zerolog.InfoLevel)
		o.Logger = &l
	}
}

// guess sends a CONNECT with a user name and password, as a guesser does,
// and returns the CONNACK's reason code (0 when it logged in).
func guess(t *testing.T, h *hub.Hub, user, password string) byte {
	t.Helper()
	c, rc, _ := tryLogin(t, h, "guess", user, password)
	if c != nil {
		_ = c.Disconnect(&paho.Disconnect{})
	}
	return rc
}

func TestFailedLoginsLoggedAndCounted(t *testing.T) {
	const wrong = "hunter2-not-the-password"
	logs := &lockedBuffer{}
	h := startOpsHub(t, withLog(logs), func(o *hub.Options) {
		o.Dev, o.AdminPassword, o.PasswordCost = false, "the admin password 1234", 4
		o.Throttle = authz.ThrottleOptions{Failures: 3, AddressFailures: 1000, Delay: time.Millisecond}
	})
	for range 20 {
		if rc := guess(t, h, "admin", wrong); rc < 0x80 {
			t.Fatalf("a wrong password logged in: %#x", rc)
		}
	}
	if rc := guess(t, h, "nobody", wrong); rc != 0x86 {
		t.Fatalf("unknown account: %#x, want 0x86", rc)
	}
	m := scrape(t, h)
	t.Run("CountedByReason", func(t *testing.T) {
		for reason, want := range map[string]float64{"bad_password": 3, "throttled": 17, "unknown_account": 1, "bad_token": 0} {
			if got := m[`wotmq_login_failures_total{reason="`+reason+`"}`]; got != want {
				t.Errorf("wotmq_login_failures_total{reason=%q} = %v, want %v", reason, got, want)
			}
		}
	})
	lines := logLines(t, logs, "login failed")
	t.Run("LoggedAtWarnWithAccountAndAddressOncePerPair", func(t *testing.T) {
		if len(lines) != 2 {
			t.Fatalf("%d login failed lines for 21 failures of 2 pairs, want 2:\n%s", len(lines), logs)
		}
		for i, want := range []struct{ account, reason string }{{"admin", "bad_password"}, {"nobody", "unknown_account"}} {
			l := lines[i]
			if l["level"] != "warn" || l["account"] != want.account || l["remote"] != "127.0.0.1" || l["reason"] != want.reason {
				t.Errorf("line %d: %v, want warn, account %s, remote 127.0.0.1, reason %s", i, l, want.account, want.reason)
			}
		}
	})
	t.Run("NeverThePassword", func(t *testing.T) {
		if strings.Contains(logs.String(), wrong) {
			t.Errorf("the log holds the password:\n%s", logs)
		}
	})
	t.Run("NotAlsoAsConnectionRefused", func(t *testing.T) {
		if n := len(logLines(t, logs, "connection refused")); n != 0 {
			t.Errorf("%d connection refused lines besides login failed", n)
		}
	})
}

func TestRateLimitRefusalsSummarised(t *testing.T) {
	logs := &lockedBuffer{}
	h := startOpsHub(t, withLog(logs), func(o *hub.Options) {
		o.Limits.RateLimit, o.Limits.RateBurst = 5, 100
	})
	c := dial(t, h, "eager")
	refused := 0
	for range 160 {
		if rc, reason := c.publish("eager/readings", []byte("1"), nil); rc >= 0x80 && strings.HasPrefix(reason, "rate_limited") {
			refused++
		}
	}
	if refused < 20 {
		t.Fatalf("only %d of 160 publishes refused at 5/s with a burst of 100", refused)
	}
	if err := c.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, "the summary at disconnect", func() bool {
		return len(logLines(t, logs, "publishes refused for the rate limit and not logged one by one, until the client disconnected")) > 0
	})
	var lines int
	for _, l := range logLines(t, logs, "publish refused") {
		if l["code"] == "rate_limited" {
			lines++
		}
	}
	if lines != 1 {
		t.Errorf("%d publish refused lines for %d rate-limit refusals within a minute, want 1", lines, refused)
	}
	sum := logLines(t, logs, "publishes refused for the rate limit and not logged one by one, until the client disconnected")[0]
	if got := sum["refused"]; got != float64(refused-1) || sum["client"] == "" {
		t.Errorf("summary %v, want refused %d and the client", sum, refused-1)
	}
	if m := scrape(t, h); m[`wotmq_messages_refused_total{code="rate_limited"}`] != float64(refused) {
		t.Errorf("wotmq_messages_refused_total{code=\"rate_limited\"} = %v, want %d", m[`wotmq_messages_refused_total{code="rate_limited"}`], refused)
	}
}

// TestHTTPRequestsCounted: requests to the HTTP binding of a running hub
// reach wotmq_http_requests_total, by route template and code (the hub
// wraps the binding's handler, httpapi.Options.Wrap).
func TestHTTPRequestsCounted(t *testing.T) {
	h := startOpsHub(t, withHTTP)
	for _, path := range []string{"/.well-known/wot", "/.well-known/wot", "/things/urn:t:none"} {
		resp, err := http.Get("http://" + h.HTTPAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	// A request is counted when its handler returns, which may be just
	// after the client read the answer.
	hubtest.WaitFor(t, "the requests counted", func() bool {
		m := scrape(t, h)
		return m[`wotmq_http_requests_total{route="/.well-known/wot",method="GET",code="200"}`] == 2 &&
			m[`wotmq_http_requests_total{route="/things/{id}",method="GET",code="404"}`] == 1
	})
}

// TestFailedHTTPLoginsLoggedAndCounted: a failed HTTP login is a failed
// login like over MQTT: counted by reason, logged at warn with account and
// address once per pair (thinned), never with the password; a request
// without credentials is no failed login and stays out of the warn log.
func TestFailedHTTPLoginsLoggedAndCounted(t *testing.T) {
	const wrong = "hunter2-not-the-password"
	logs := &lockedBuffer{}
	h := startOpsHub(t, withLog(logs), withHTTP, func(o *hub.Options) {
		o.Dev, o.AdminPassword, o.PasswordCost = false, "the admin password 1234", 4
		o.Throttle = authz.ThrottleOptions{Failures: 100, AddressFailures: 1000, Delay: time.Millisecond}
	})
	get := func(user, pass string) int {
		req, err := http.NewRequest("GET", "http://"+h.HTTPAddr()+"/things", nil)
		if err != nil {
			t.Fatal(err)
		}
		if user != "" {
			req.SetBasicAuth(user, pass)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	for range 5 {
		if code := get("admin", wrong); code != 401 {
			t.Fatalf("wrong password: %d, want 401", code)
		}
	}
	if code := get("", ""); code != 401 {
		t.Fatalf("no credentials: %d, want 401", code)
	}
	if got := scrape(t, h)[`wotmq_login_failures_total{reason="bad_password"}`]; got != 5 {
		t.Errorf("bad_password failures counted %v, want 5", got)
	}
	lines := logLines(t, logs, "login failed")
	if len(lines) != 1 || lines[0]["level"] != "warn" || lines[0]["account"] != "admin" || lines[0]["remote"] != "127.0.0.1" {
		t.Errorf("login failed lines %v, want one at warn for admin from 127.0.0.1", lines)
	}
	if strings.Contains(logs.String(), wrong) {
		t.Errorf("the log holds the password:\n%s", logs)
	}
}
