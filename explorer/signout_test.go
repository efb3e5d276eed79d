package explorer_test

import (
	"bufio"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hubtest"
)

// TestExplorerSignOutRevokesTheToken: signing out voids the session's
// token at the hub, not only in the browser: a copy of the cookie no
// longer works, and an event stream opened with it ends.
func TestExplorerSignOutRevokesTheToken(t *testing.T) {
	h := startExplorerHub(t)
	base := hubtest.HTTPURL(h)
	b := newExplorerBrowser(t, base)
	if res := b.signIn("vera", explorerViewerPW); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	tok := b.cookie("wotmq_token")
	if tok == "" {
		t.Fatal("no session cookie")
	}
	// An event stream the page opened with the cookie.
	req, _ := http.NewRequest("GET", base+"/events", nil)
	req.Header.Set("Accept", "text/event-stream")
	req.AddCookie(&http.Cookie{Name: "wotmq_token", Value: tok})
	stream, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	if stream.StatusCode != http.StatusOK {
		t.Fatalf("stream: %d", stream.StatusCode)
	}
	ended := make(chan string, 1)
	go func() {
		var last string
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "event: ") {
				last = sc.Text()
			}
		}
		ended <- last
	}()

	form := url.Values{"csrf": {b.cookie("wotmq_csrf")}}
	res, _ := b.do("POST", "/explorer/logout", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Origin", base)
	if res.StatusCode != http.StatusSeeOther || b.cookie("wotmq_token") != "" {
		t.Fatalf("sign-out: %d, cookie %q", res.StatusCode, b.cookie("wotmq_token"))
	}
	select {
	case last := <-ended:
		if last != "event: wotmq:end" {
			t.Errorf("the stream's last event: %q", last)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the event stream opened with the token is still open")
	}
	// A copy of the cookie (or the token) is refused everywhere now.
	again := newExplorerBrowser(t, base)
	if res, _ := again.do("GET", "/explorer/things", "", "Cookie", "wotmq_token="+tok); res.StatusCode != http.StatusSeeOther {
		t.Errorf("pages with the old cookie: %d", res.StatusCode)
	}
	if res, _ := again.do("GET", "/things", "", "Authorization", "Bearer "+tok); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("the binding with the old token: %d", res.StatusCode)
	}
}
