package hub

import "testing"

// TestHTTPRouteExplorer: the explorer's pages count as two routes, its
// page script's requests (passed on to the binding) apart, whatever the
// Thing IDs in their paths.
func TestHTTPRouteExplorer(t *testing.T) {
	for path, want := range map[string]string{
		"/explorer/things":                       "/explorer",
		"/explorer/things/urn:dev:ops:lamp-1":    "/explorer",
		"/explorer/static/explorer.css":          "/explorer",
		"/explorer/api/things/lamp/actions/fade": "/explorer/api",
		"/explorer":                              "/explorer",
	} {
		if got := httpRoute(path); got != want {
			t.Errorf("httpRoute(%q) = %q, want %q", path, got, want)
		}
	}
}
