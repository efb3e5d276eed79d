package hub_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

func basic(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// TestHTTPPermissionTable drives every role through every HTTP endpoint:
// the same decisions as over MQTT (docs/security.md).
func TestHTTPPermissionTable(t *testing.T) {
	h, _ := secureHub(t, withHTTP)
	ctx := context.Background()
	if err := h.Accounts().Add(ctx, "web-owner", authz.RoleAgent, "", testPassword); err != nil {
		t.Fatal(err)
	}
	// An agent registers a Thing over HTTP and stays offline: requests for
	// it wait (pending), so every role can invoke and cancel its own.
	owner := newWeb(t, h, "Authorization", basic("web-owner", testPassword))
	const thing = "/things/urn:t:web"
	owner.do("PUT", thing, thingTD("urn:t:web")).want(t, 201)

	type cell struct {
		op    authz.Op
		name  string
		check func(t *testing.T, w *webClient, me string) int // the status
	}
	cells := []cell{
		{authz.OpReadTD, "ReadTD", func(t *testing.T, w *webClient, me string) int { return w.do("GET", thing, nil).status }},
		{authz.OpReadTD, "ListThings", func(t *testing.T, w *webClient, me string) int { return w.do("GET", "/things", nil).status }},
		{authz.OpReadTD, "DirectoryEvents", func(t *testing.T, w *webClient, me string) int {
			_, r := w.tryStream("/events")
			return r.status
		}},
		{authz.OpReadProperty, "ReadProperty", func(t *testing.T, w *webClient, me string) int {
			return w.do("GET", thing+"/properties/p", nil).status
		}},
		{authz.OpReadProperty, "ReadAllProperties", func(t *testing.T, w *webClient, me string) int {
			return w.do("GET", thing+"/properties", nil).status
		}},
		{authz.OpReadProperty, "ObserveProperty", func(t *testing.T, w *webClient, me string) int {
			_, r := w.tryStream(thing + "/properties/p")
			return r.status
		}},
		{authz.OpSubscribeEvent, "SubscribeEvent", func(t *testing.T, w *webClient, me string) int {
			_, r := w.tryStream(thing + "/events/e")
			return r.status
		}},
		{authz.OpReadHistory, "ReadHistory", func(t *testing.T, w *webClient, me string) int {
			return w.do("GET", thing+"/events/e", nil).status
		}},
		{authz.OpQueryAction, "QueryAllActions", func(t *testing.T, w *webClient, me string) int {
			return w.do("GET", thing+"/actions", nil).status
		}},
		{authz.OpInvokeAction, "InvokeAction", func(t *testing.T, w *webClient, me string) int {
			return w.do("POST", thing+"/actions/a", nil).status
		}},
		{authz.OpCancelAction, "CancelOwnRequest", func(t *testing.T, w *webClient, me string) int {
			r := w.do("POST", thing+"/actions/a", nil)
			if r.status != 201 {
				return w.do("DELETE", thing+"/actions/a", nil).status
			}
			return w.do("DELETE", r.header.Get("Location"), nil).status
		}},
		{authz.OpWriteProperty, "WriteProperty", func(t *testing.T, w *webClient, me string) int {
			return w.do("PUT", thing+"/properties/p", []byte("1")).status
		}},
		{authz.OpExpose, "RegisterOwnThing", func(t *testing.T, w *webClient, me string) int {
			return w.do("PUT", "/things/urn:t:"+me, thingTD("urn:t:"+me)).status
		}},
		{authz.OpExpose, "RegisterAnonymousThing", func(t *testing.T, w *webClient, me string) int {
			return w.do("POST", "/things", thingTD(""), "Content-Type", "application/td+json").status
		}},
		{authz.OpManageThings, "PatchOtherAgentsThing", func(t *testing.T, w *webClient, me string) int {
			return w.do("PATCH", thing, []byte(`{"description":"by `+me+`"}`), "Content-Type", "application/merge-patch+json").status
		}},
	}
	for _, role := range authz.Roles() {
		me := "r-" + string(role)
		w := newWeb(t, h, "Authorization", basic(me, testPassword))
		for _, cl := range cells {
			t.Run(string(role)+"/"+cl.name, func(t *testing.T) {
				want := authz.Allowed(role, cl.op)
				status := cl.check(t, w, me)
				if got := status != 403 && status != 401; got != want {
					t.Errorf("%s %s: status %d; the table says allowed=%v", role, cl.name, status, want)
				}
				if status >= 500 {
					t.Errorf("status %d", status)
				}
			})
		}
	}
	t.Run("AccessListNarrowsReads", func(t *testing.T) {
		if err := h.Accounts().SetThingACL(ctx, "urn:t:web", authz.ThingACL{Deny: []string{"r-viewer"}}); err != nil {
			t.Fatal(err)
		}
		w := newWeb(t, h, "Authorization", basic("r-viewer", testPassword))
		w.do("GET", thing, nil).problem(t, 403, wot.CodeDenied)
		if strings.Contains(string(w.do("GET", "/things", nil).want(t, 200).body), "urn:t:web") {
			t.Error("the listing shows a Thing the access list denies")
		}
	})
}

func TestHTTPLogin(t *testing.T) {
	h, logs := secureHub(t, withHTTP)
	anon := newWeb(t, h)
	t.Run("WellKnownNeedsNoCredentials", func(t *testing.T) {
		hubTD, err := td.Parse(anon.do("GET", "/.well-known/wot", nil).want(t, 200).body)
		if err != nil {
			t.Fatal(err)
		}
		if !hubTD.Security.Contains("combo_sc") || hubTD.SecurityDefinitions["sse_sc"] == nil {
			t.Errorf("security %v %v", hubTD.Security, hubTD.SecurityDefinitions)
		}
	})
	t.Run("NoCredentials", func(t *testing.T) {
		r := anon.do("GET", "/things", nil)
		r.problem(t, 401, wot.CodeUnauthenticated)
		if a := r.header.Get("WWW-Authenticate"); !strings.Contains(a, "Basic") || !strings.Contains(a, "Bearer") {
			t.Errorf("WWW-Authenticate %q", a)
		}
	})
	tok, _, err := h.Accounts().IssueToken("r-viewer", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, auth string
		status     int
		code       wot.Code
	}{
		{"BasicPassword", basic("r-viewer", testPassword), 200, ""},
		{"BearerToken", "Bearer " + tok, 200, ""},
		{"TokenAsBasicPassword", basic("", tok), 200, ""},
		{"TokenOfAnotherUser", basic("r-admin", tok), 401, wot.CodeUnauthenticated},
		{"WrongPassword", basic("r-viewer", "not the password"), 401, wot.CodeUnauthenticated},
		{"UnknownAccount", basic("nobody", testPassword), 401, wot.CodeUnauthenticated},
		{"GarbageToken", "Bearer a.b.c", 401, wot.CodeUnauthenticated},
		{"MalformedBasic", "Basic !!!", 401, wot.CodeUnauthenticated},
		{"OtherScheme", "Digest username=x", 401, wot.CodeUnauthenticated},
		{"AgentMayNotRead", basic("r-agent", testPassword), 403, wot.CodeDenied},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := anon.do("GET", "/things/urn:t:owner", nil, "Authorization", tt.auth)
			if tt.code == "" {
				r.want(t, tt.status)
				return
			}
			r.problem(t, tt.status, tt.code)
		})
	}
	t.Run("EventStreamsTakeTheTokenByQueryOrCookie", func(t *testing.T) {
		anon.stream("/things/urn:t:owner/events/e?access_token=" + tok)
		anon.stream("/things/urn:t:owner/events/e", "Cookie", "wotmq_token="+tok)
		anon.stream("/things/urn:t:owner/events/e", "Authorization", "Bearer "+tok)
		_, r := anon.tryStream("/things/urn:t:owner/events/e?access_token=nope")
		r.problem(t, 401, wot.CodeUnauthenticated)
		// Elsewhere a token in the URL or a cookie is not credentials.
		anon.do("GET", "/things/urn:t:owner?access_token="+tok, nil).problem(t, 401, wot.CodeUnauthenticated)
		anon.do("GET", "/things/urn:t:owner", nil, "Cookie", "wotmq_token="+tok).problem(t, 401, wot.CodeUnauthenticated)
	})
	t.Run("DisabledAccount", func(t *testing.T) {
		off := false
		mtok, _, _ := h.Accounts().IssueToken("r-manager", time.Hour)
		if err := h.Accounts().Update(context.Background(), "r-manager", nil, nil, &off, nil); err != nil {
			t.Fatal(err)
		}
		anon.do("GET", "/things", nil, "Authorization", basic("r-manager", testPassword)).problem(t, 403, wot.CodeDenied)
		anon.do("GET", "/things", nil, "Authorization", "Bearer "+mtok).problem(t, 403, wot.CodeDenied)
	})
	t.Run("NoSecretsInTheLog", func(t *testing.T) {
		if strings.Contains(logs.String(), testPassword) || strings.Contains(logs.String(), tok) || strings.Contains(logs.String(), "eyJ") {
			t.Error("a password or token appears in the log")
		}
	})
}

func TestHTTPThrottle(t *testing.T) {
	clk := &clock{now: time.Now()}
	h, _ := secureHub(t, withHTTP, func(o *hub.Options) { o.Now = clk.Now })
	web := newWeb(t, h)
	for range 5 {
		web.do("GET", "/things", nil, "Authorization", basic("r-viewer", "wrong password!")).problem(t, 401, wot.CodeUnauthenticated)
	}
	web.do("GET", "/things", nil, "Authorization", basic("r-viewer", testPassword)).problem(t, 429, wot.CodeQuota)
	clk.Add(2 * time.Minute)
	web.do("GET", "/things", nil, "Authorization", basic("r-viewer", testPassword)).want(t, 200)
}

func TestHTTPDevAnonymous(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP)
	web := newWeb(t, h)
	hubTD, err := td.Parse(web.do("GET", "/.well-known/wot", nil).want(t, 200).body)
	if err != nil {
		t.Fatal(err)
	}
	if !hubTD.Security.Contains("nosec_sc") {
		t.Errorf("a development hub declares %v", hubTD.Security)
	}
	web.do("GET", "/things", nil).want(t, 200)
	// A user name without password names the anonymous client; an account's
	// name with a wrong password is still refused.
	web.do("PUT", "/things/urn:t:mine", smallTD("", "mine"), "Authorization", basic("dev-agent", "")).want(t, 201)
	if err := h.Accounts().Add(context.Background(), "real", authz.RoleViewer, "", testPassword); err != nil {
		t.Fatal(err)
	}
	web.do("GET", "/things", nil, "Authorization", basic("real", "")).problem(t, 401, wot.CodeUnauthenticated)
	web.do("GET", "/things", nil, "Authorization", basic("real", testPassword)).want(t, 200)
}

func TestHTTPS(t *testing.T) {
	ca, caKey := newCert(t, "wotmq test CA", nil, nil, true)
	srvCert, srvKey := newCert(t, "localhost", ca, caKey, false)
	cliCert, cliKey := newCert(t, "r-viewer", ca, caKey, false)
	pool := x509.NewCertPool()
	pool.AddCert(ca)
	cfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{srvCert.Raw}, PrivateKey: srvKey}},
		ClientCAs: pool, ClientAuth: tls.VerifyClientCertIfGiven, MinVersion: tls.VersionTLS12}
	h, _ := secureHub(t, func(o *hub.Options) {
		o.TLS, o.TLSAddr, o.WSSAddr = cfg, "off", "off"
		o.HTTPAddr, o.HTTPSAddr = "off", "127.0.0.1:0"
	})
	if h.HTTPAddr() != "" || h.HTTPSAddr() == "" {
		t.Fatalf("listening at %q, %q", h.HTTPAddr(), h.HTTPSAddr())
	}
	get := func(path string, cert *tls.Certificate) *http.Response {
		t.Helper()
		tc := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		if cert != nil {
			tc.Certificates = []tls.Certificate{*cert}
		}
		c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: tc}}
		resp, err := c.Get("https://" + h.HTTPSAddr() + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := get("/.well-known/wot", nil); r.StatusCode != 200 {
		t.Errorf("well-known over HTTPS: %d", r.StatusCode)
	}
	if r := get("/things/urn:t:owner", nil); r.StatusCode != 401 {
		t.Errorf("without a client certificate: %d", r.StatusCode)
	}
	cc := tls.Certificate{Certificate: [][]byte{cliCert.Raw}, PrivateKey: cliKey}
	if r := get("/things/urn:t:owner", &cc); r.StatusCode != 200 {
		t.Errorf("with the client certificate of r-viewer: %d", r.StatusCode)
	}
}

func newCert(t *testing.T, cn string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		DNSNames:    []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		IsCA: isCA, BasicConstraintsValid: true,
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c, key
}
