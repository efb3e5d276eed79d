package explorer_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// explorerBrowser is a plain HTTP client with a cookie jar that does not
// follow redirects: a browser as far as cookies go.
type explorerBrowser struct {
	t    *testing.T
	base string
	c    *http.Client
}

func newExplorerBrowser(t *testing.T, base string) *explorerBrowser {
	jar, _ := cookiejar.New(nil)
	return &explorerBrowser{t: t, base: base, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

func (b *explorerBrowser) do(method, path, body string, hdr ...string) (*http.Response, string) {
	b.t.Helper()
	req, err := http.NewRequest(method, b.base+path, strings.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res, string(out)
}

func (b *explorerBrowser) cookie(name string) string {
	u, _ := url.Parse(b.base)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// signIn loads the sign-in page (which sets the CSRF cookie) and posts the
// form as a browser would.
func (b *explorerBrowser) signIn(user, password string) *http.Response {
	b.t.Helper()
	b.do("GET", "/explorer/login", "")
	form := url.Values{"user": {user}, "password": {password}, "csrf": {b.cookie("wotmq_csrf")}, "next": {"/explorer/things"}}
	res, _ := b.do("POST", "/explorer/login", form.Encode(), "Content-Type", "application/x-www-form-urlencoded", "Origin", b.base)
	return res
}

// TestExplorerCSRF: every state-changing request to the explorer must
// repeat its CSRF token and come from its own origin, and the session
// cookie alone makes no request of the binding but event streams.
func TestExplorerCSRF(t *testing.T) {
	h := startExplorerHub(t)
	base := hubtest.HTTPURL(h)

	t.Run("SignInWithoutTheTokenIsRefused", func(t *testing.T) {
		b := newExplorerBrowser(t, base)
		form := url.Values{"user": {"admin"}, "password": {explorerAdminPW}}
		res, _ := b.do("POST", "/explorer/login", form.Encode(), "Content-Type", "application/x-www-form-urlencoded")
		if res.StatusCode != http.StatusForbidden || b.cookie("wotmq_token") != "" {
			t.Errorf("sign-in without CSRF token: %d, token cookie %q", res.StatusCode, b.cookie("wotmq_token"))
		}
	})

	b := newExplorerBrowser(t, base)
	res := b.signIn("admin", explorerAdminPW)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/explorer/things" {
		t.Fatalf("sign-in: %d to %q", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, c := range res.Cookies() {
		if c.Name == "wotmq_token" {
			session = c
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Path != "/" {
		t.Fatalf("session cookie %+v: want HttpOnly, SameSite=Strict, Path=/", session)
	}
	if strings.Contains(res.Header.Get("Location"), session.Value) {
		t.Error("the token is in the redirect")
	}
	csrf := b.cookie("wotmq_csrf")
	write := "/explorer/api/things/urn:dev:none/properties/p?timeout=0"

	for _, tc := range []struct {
		name string
		hdr  []string
	}{
		{"NoToken", []string{"Content-Type", "application/json"}},
		{"WrongToken", []string{"Content-Type", "application/json", "X-CSRF-Token", strings.Repeat("0", 32)}},
		{"OtherOrigin", []string{"Content-Type", "application/json", "X-CSRF-Token", csrf, "Origin", "http://evil.example"}},
		{"CrossSiteFetch", []string{"Content-Type", "application/json", "X-CSRF-Token", csrf, "Sec-Fetch-Site", "cross-site"}},
	} {
		t.Run("WriteRefused"+tc.name, func(t *testing.T) {
			if res, body := b.do("PUT", write, "1", tc.hdr...); res.StatusCode != http.StatusForbidden {
				t.Errorf("%d %s", res.StatusCode, body)
			}
		})
	}
	t.Run("WriteWithTheTokenReachesTheBinding", func(t *testing.T) {
		res, body := b.do("PUT", write, "1", "Content-Type", "application/json", "X-CSRF-Token", csrf, "Origin", base, "Sec-Fetch-Site", "same-origin")
		if res.StatusCode != http.StatusNotFound || !strings.Contains(body, `"unknown_thing"`) {
			t.Errorf("%d %s", res.StatusCode, body)
		}
	})
	t.Run("AccountChangeRefusedWithoutTheToken", func(t *testing.T) {
		form := url.Values{"op": {"disable"}, "id": {"vera"}}
		if res, _ := b.do("POST", "/explorer/accounts", form.Encode(), "Content-Type", "application/x-www-form-urlencoded"); res.StatusCode != http.StatusForbidden {
			t.Errorf("%d", res.StatusCode)
		}
		if a, _ := h.Accounts().Get("vera"); !a.Enabled {
			t.Error("vera was disabled")
		}
	})
	t.Run("SignOutRefusedWithoutTheToken", func(t *testing.T) {
		if res, _ := b.do("POST", "/explorer/logout", ""); res.StatusCode != http.StatusForbidden {
			t.Errorf("%d", res.StatusCode)
		}
	})
	// The binding takes the session cookie on event streams only: a page of
	// another site that makes the browser send it gets 401 everywhere else.
	for _, m := range []struct{ method, path string }{
		{"PUT", "/things/urn:dev:none/properties/p"},
		{"POST", "/things/urn:dev:none/actions/a"},
		{"DELETE", "/things/urn:dev:none"},
		{"PUT", "/things/urn:dev:none"},
		{"POST", "/things"},
	} {
		t.Run("BindingRefusesTheCookieOn"+m.method+strings.ReplaceAll(m.path, "/", "_"), func(t *testing.T) {
			res, body := b.do(m.method, m.path, "{}", "Content-Type", "application/json", "Accept", "text/event-stream")
			if res.StatusCode != http.StatusUnauthorized {
				t.Errorf("%s %s with the session cookie: %d %s", m.method, m.path, res.StatusCode, body)
			}
		})
	}
}

// TestExplorerNeedsSignIn: without a session the pages send the browser
// to sign in, the API path answers 401, and a viewer is refused the
// accounts page.
func TestExplorerNeedsSignIn(t *testing.T) {
	h := startExplorerHub(t)
	b := newExplorerBrowser(t, hubtest.HTTPURL(h))
	if res, _ := b.do("GET", "/", ""); res.StatusCode != http.StatusFound || res.Header.Get("Location") != "/explorer/things" {
		t.Errorf("/: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := b.do("GET", "/explorer/things?q=x", ""); res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/explorer/login?next=") {
		t.Errorf("things without a session: %d %q", res.StatusCode, res.Header.Get("Location"))
	}
	if res, _ := b.do("GET", "/explorer/api/things", ""); res.StatusCode != http.StatusUnauthorized {
		t.Errorf("api without a session: %d", res.StatusCode)
	}
	if res := b.signIn("vera", "wrong"); res.StatusCode != http.StatusUnauthorized || b.cookie("wotmq_token") != "" {
		t.Errorf("a wrong password: %d", res.StatusCode)
	}
	if res := b.signIn("vera", explorerViewerPW); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	if res, body := b.do("GET", "/explorer/accounts", ""); res.StatusCode != http.StatusForbidden || strings.Contains(body, `data-account="admin"`) {
		t.Errorf("a viewer's accounts page: %d", res.StatusCode)
	}
	if res, body := b.do("GET", "/explorer/things", ""); res.StatusCode != http.StatusOK || strings.Contains(body, "/explorer/accounts") {
		t.Errorf("a viewer's Things page: %d, accounts link shown %v", res.StatusCode, strings.Contains(body, "/explorer/accounts"))
	}
}

// TestExplorerOff: without Options.Explorer the paths are the API's.
func TestExplorerOff(t *testing.T) {
	h := hubtest.Start(t, func(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0" })
	b := newExplorerBrowser(t, hubtest.HTTPURL(h))
	for _, p := range []string{"/", "/explorer/things"} {
		if res, body := b.do("GET", p, ""); res.StatusCode != http.StatusNotFound || !strings.Contains(body, `"not_found"`) {
			t.Errorf("%s: %d %s", p, res.StatusCode, body)
		}
	}
}

// TestDevHubRefusesOtherSites: a development hub admits loopback clients
// without credentials, which a page of any other site could use through
// the developer's browser (a no-cors POST with an untyped body is taken as
// JSON; a GET is readable under CORS "*"). Browsers name the page's origin
// on such requests: anonymous admission holds only for loopback origins.
func TestDevHubRefusesOtherSites(t *testing.T) {
	h := hubtest.Start(t, func(o *hub.Options) { o.HTTPAddr = "127.0.0.1:0"; o.Explorer = true })
	b := newExplorerBrowser(t, hubtest.HTTPURL(h))
	lamp := `{"@context":"https://www.w3.org/2022/wot/td/v1.1","title":"L","securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n"}`
	for _, tc := range []struct {
		name, method, path, body, origin string
		want                             int
	}{
		{"NoOrigin", "GET", "/things", "", "", http.StatusOK},
		{"LocalhostOrigin", "GET", "/things", "", "http://localhost:3000", http.StatusOK},
		{"LoopbackOrigin", "PUT", "/things/urn:dev:csrf:1", lamp, "http://127.0.0.1:5173", http.StatusCreated},
		{"OtherSiteRead", "GET", "/things", "", "https://evil.example", http.StatusUnauthorized},
		{"OtherSiteWrite", "PUT", "/things/urn:dev:csrf:2", lamp, "https://evil.example", http.StatusUnauthorized},
		{"OtherSiteStream", "GET", "/events", "", "https://evil.example", http.StatusUnauthorized},
		{"OpaqueOrigin", "POST", "/things", lamp, "null", http.StatusUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr := []string{}
			if tc.origin != "" {
				hdr = append(hdr, "Origin", tc.origin)
			}
			if tc.path == "/events" {
				hdr = append(hdr, "Accept", "text/event-stream")
			}
			if tc.path == "/events" { // a stream: its status alone, then hang up
				req, _ := http.NewRequest(tc.method, b.base+tc.path, nil)
				for i := 0; i+1 < len(hdr); i += 2 {
					req.Header.Set(hdr[i], hdr[i+1])
				}
				res, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				res.Body.Close()
				if res.StatusCode != tc.want {
					t.Errorf("stream from %q: %d, want %d", tc.origin, res.StatusCode, tc.want)
				}
				return
			}
			res, body := b.do(tc.method, tc.path, tc.body, hdr...)
			if res.StatusCode != tc.want {
				t.Errorf("%s %s from %q: %d, want %d: %s", tc.method, tc.path, tc.origin, res.StatusCode, tc.want, body)
			}
		})
	}
}
