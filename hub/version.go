package hub

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// Build says which build of wotmq a process runs. It comes from the build
// information the Go toolchain writes into every binary
// (runtime/debug.ReadBuildInfo): the module version (a release tag, or a
// pseudo-version the toolchain derives from the VCS, such as
// v0.0.0-20261201101500-5ad0c834ea5b+dirty), the VCS revision and its
// time, and the Go version. It shows in `wotmq version`, in the "hub
// started" log line and in the metric wotmq_build_info.
type Build struct {
	Version  string    `json:"version"`            // module version; "(devel)" when the toolchain could not tell
	Revision string    `json:"revision,omitempty"` // VCS revision (a commit hash)
	Time     time.Time `json:"time,omitzero"`      // commit time of Revision
	Modified bool      `json:"modified,omitempty"` // built from a work tree with uncommitted changes
	Go       string    `json:"go"`                 // Go version that built the binary
	Platform string    `json:"platform"`           // GOOS/GOARCH
}

// develVersion is what the toolchain records as the main module's version
// when it cannot tell (no VCS information: a build with -buildvcs=false or
// outside a checkout; go test).
const develVersion = "(devel)"

// ReadBuild reads the build information of the running binary. version,
// when not empty, is the version to report where the build information
// has none: what `go build -ldflags "-X main.version=..."` set for a build
// from a source archive, where no VCS can say.
func ReadBuild(version string) Build {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return buildOf(bi, version)
}

// buildOf reads a Build out of build information (nil when the binary has
// none).
func buildOf(bi *debug.BuildInfo, version string) Build {
	b := Build{Version: develVersion, Go: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi != nil {
		if v := bi.Main.Version; v != "" {
			b.Version = v
		}
		if bi.GoVersion != "" {
			b.Go = bi.GoVersion
		}
		var goos, goarch string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Revision = s.Value
			case "vcs.time":
				b.Time, _ = time.Parse(time.RFC3339, s.Value)
			case "vcs.modified":
				b.Modified = s.Value == "true"
			case "GOOS":
				goos = s.Value
			case "GOARCH":
				goarch = s.Value
			}
		}
		if goos != "" && goarch != "" {
			b.Platform = goos + "/" + goarch
		}
	}
	if version != "" && (b.Version == develVersion || b.Revision == "") {
		b.Version = version
	}
	return b
}

// String is the one line `wotmq version` prints, e.g.
//
//	v1.2.0 (revision 5ad0c834ea5b, 2026-12-01T10:15:00Z) go1.26.8 linux/amd64
func (b Build) String() string {
	var s strings.Builder
	s.WriteString(b.Version)
	if b.Revision != "" {
		fmt.Fprintf(&s, " (revision %s", b.Revision)
		if !b.Time.IsZero() {
			fmt.Fprintf(&s, ", %s", b.Time.UTC().Format(time.RFC3339))
		}
		if b.Modified {
			s.WriteString(", modified")
		}
		s.WriteString(")")
	}
	fmt.Fprintf(&s, " %s %s", b.Go, b.Platform)
	return s.String()
}
