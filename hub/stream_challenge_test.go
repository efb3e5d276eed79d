package hub_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/httpapi"
)

// TestHTTPStreamChallengeForPages: an event stream refused with 401 that
// came with a token in the session cookie or the query (a page's
// EventSource whose session ended) is challenged with Bearer alone, so
// that the browser fails the stream instead of asking for a password in a
// dialog of its own; other 401s still offer Basic.
func TestHTTPStreamChallengeForPages(t *testing.T) {
	h, _ := secureHub(t, withHTTP)
	const bogus = "eyJhbGciOiJIUzI1NiJ9.e30.bm90LWEtdG9rZW4"
	for _, tc := range []struct {
		name, path string
		hdr        []string
		basic      bool
	}{
		{"SessionCookie", "/events", []string{"Cookie", httpapi.TokenCookie + "=" + bogus}, false},
		{"QueryToken", "/events?" + httpapi.TokenQuery + "=" + bogus, nil, false},
		{"NoCredentials", "/events", nil, true},
		{"BadBearer", "/events", []string{"Authorization", "Bearer " + bogus}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, r := newWeb(t, h).tryStream(tc.path, tc.hdr...)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401", r.status)
			}
			a := r.header.Get("WWW-Authenticate")
			if strings.Contains(a, "Basic") != tc.basic || !strings.Contains(a, "Bearer") {
				t.Errorf("WWW-Authenticate %q (Basic wanted: %v)", a, tc.basic)
			}
		})
	}
}
