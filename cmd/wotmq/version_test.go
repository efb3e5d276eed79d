package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/hub"
)

// builtWotmq builds this command the way make build does
// (-buildvcs=auto, whatever GOFLAGS say) into a temporary directory.
func builtWotmq(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "wotmq")
	if out, err := exec.Command(goTool(), "build", "-buildvcs=auto", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func goTool() string {
	if p, err := exec.LookPath("go"); err == nil {
		return p
	}
	return filepath.Join(runtime.GOROOT(), "bin", "go")
}

func TestVersionCommand(t *testing.T) {
	t.Run("OneLineForPeople", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"version"}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		if s := out.String(); !strings.HasPrefix(s, "wotmq ") || !strings.Contains(s, runtime.Version()) || strings.Count(s, "\n") != 1 {
			t.Errorf("wotmq version printed %q", s)
		}
	})
	t.Run("JSONForScripts", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"version", "--json"}, &out, &errb); err != nil {
			t.Fatal(err)
		}
		var b hub.Build
		if err := json.Unmarshal(out.Bytes(), &b); err != nil || b.Version == "" || b.Go != runtime.Version() {
			t.Errorf("wotmq version --json printed %s (%v)", out.String(), err)
		}
	})
	t.Run("RejectsArguments", func(t *testing.T) {
		var out, errb bytes.Buffer
		if err := run(context.Background(), []string{"version", "extra"}, &out, &errb); err == nil || exitCode(err) != 2 {
			t.Errorf("wotmq version extra = %v, want a usage error", err)
		}
	})
	t.Run("BuiltFromACheckoutNamesItsRevision", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds the binary")
		}
		head, err := exec.Command("git", "rev-parse", "HEAD").Output()
		if err != nil {
			t.Skipf("not in a git checkout (git rev-parse HEAD: %v): the toolchain records no revision", err)
		}
		top, _ := exec.Command("git", "rev-parse", "--show-toplevel").Output()
		if fi, err := os.Stat(filepath.Join(strings.TrimSpace(string(top)), ".git")); err == nil && !fi.IsDir() {
			t.Skip("a git worktree (.git is a file): the Go toolchain looks for a .git directory and records no revision here; a clone does")
		}
		out, err := exec.Command(builtWotmq(t), "version").CombinedOutput()
		if err != nil {
			t.Fatalf("wotmq version: %v\n%s", err, out)
		}
		rev := strings.TrimSpace(string(head))
		if s := string(out); !strings.Contains(s, "(revision "+rev) || !strings.Contains(s, runtime.Version()) || strings.Contains(s, "(devel)") {
			t.Errorf("wotmq version printed %q, want the module's pseudo-version, revision %s and %s", s, rev, runtime.Version())
		}
	})
}

func TestHubStartedLogsItsBuild(t *testing.T) {
	logs := &lockedBuffer{}
	m := &Main{LogOutput: logs, LogFormat: "json", LogLevel: "info"}
	o := &m.Options
	o.TCPAddr, o.WSAddr, o.HTTPAddr, o.DataDir, o.Dev = "127.0.0.1:0", "off", "off", t.TempDir(), true
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	for line := range strings.SplitSeq(logs.String(), "\n") {
		if !strings.Contains(line, `"message":"hub started"`) {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatal(err)
		}
		if rec["version"] == "" || rec["version"] == nil || rec["go"] != runtime.Version() {
			t.Errorf("hub started: %s, want version and go", line)
		}
		return
	}
	t.Fatalf("no hub started line in %s", logs.String())
}
