package hub

import (
	"runtime/debug"
	"strings"
	"testing"
	"time"
)

func TestBuildVersion(t *testing.T) {
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "5ad0c834ea5bdbfef62d36b6bf010153a50e636e"},
			{Key: "vcs.time", Value: "2026-12-01T10:15:00Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	for _, tc := range []struct {
		name     string
		bi       *debug.BuildInfo
		override string
		want     Build
		line     string
	}{
		{"FromACheckout", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201101500-5ad0c834ea5b+dirty"}, Settings: vcs("true")}, "",
			Build{Version: "v0.0.0-20261201101500-5ad0c834ea5b+dirty", Revision: "5ad0c834ea5bdbfef62d36b6bf010153a50e636e",
				Time: time.Date(2026, 12, 1, 10, 15, 0, 0, time.UTC), Modified: true, Go: "go1.26.8", Platform: "linux/arm64"},
			"v0.0.0-20261201101500-5ad0c834ea5b+dirty (revision 5ad0c834ea5bdbfef62d36b6bf010153a50e636e, 2026-12-01T10:15:00Z, modified) go1.26.8 linux/arm64"},
		{"ATaggedRelease", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.0"}, Settings: vcs("false")}, "v9.9.9",
			Build{Version: "v1.2.0", Revision: "5ad0c834ea5bdbfef62d36b6bf010153a50e636e",
				Time: time.Date(2026, 12, 1, 10, 15, 0, 0, time.UTC), Go: "go1.26.8", Platform: "linux/arm64"},
			"v1.2.0 (revision 5ad0c834ea5bdbfef62d36b6bf010153a50e636e, 2026-12-01T10:15:00Z) go1.26.8 linux/arm64"},
		{"LdflagsWhereNoVCSCanSay", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}}, "v1.2.0",
			Build{Version: "v1.2.0", Go: "go1.26.8"}, "v1.2.0 go1.26.8"},
		{"NothingKnown", nil, "", Build{Version: "(devel)"}, "(devel)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := buildOf(tc.bi, tc.override)
			if tc.want.Go == "" {
				tc.want.Go = got.Go // the running toolchain's
			}
			if tc.want.Platform == "" {
				tc.want.Platform = got.Platform
			}
			if got != tc.want {
				t.Errorf("buildOf = %+v, want %+v", got, tc.want)
			}
			if s := got.String(); !strings.HasPrefix(s, tc.line) {
				t.Errorf("String() = %q, want it to start with %q", s, tc.line)
			}
		})
	}
}
