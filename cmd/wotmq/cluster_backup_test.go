package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// TestClusterExportAndResetCommands: `wotmq export --nats-url` and `wotmq
// reset-password --nats-url` work on a running cluster node through its
// NATS; each wants exactly one of --data and --nats-url.
func TestClusterExportAndResetCommands(t *testing.T) {
	m := startSecure(t, func(m *Main) {
		m.Options.Cluster = hub.ClusterOptions{Name: "cli", NodeName: "n1", Listen: "127.0.0.1:0"}
	})
	url := m.Hub.NATSURL()

	archive := filepath.Join(t.TempDir(), "cluster.archive")
	out, err := runCLI(t, "export", "--nats-url", url, "--out", archive)
	if err != nil || !strings.Contains(out, "exported 1 account") {
		t.Fatalf("export: %v %s", err, out)
	}
	dst := filepath.Join(t.TempDir(), "new")
	if out, err := runCLI(t, "import", "--data", dst, archive); err != nil || !strings.Contains(out, "imported 1 account") {
		t.Fatalf("import of the cluster's archive: %v %s", err, out)
	}

	pwFile := filepath.Join(t.TempDir(), "pw")
	const newPW = "the new admin password 1"
	if err := os.WriteFile(pwFile, []byte(newPW+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = runCLI(t, "reset-password", "--nats-url", url, "--new-password-file", pwFile)
	if err != nil || !strings.Contains(out, `set the password of "admin"`) {
		t.Fatalf("reset-password: %v %s", err, out)
	}
	hubtest.WaitFor(t, "the new password on the node", func() bool {
		_, err := m.Hub.Accounts().Login(context.Background(), "admin", newPW, "")
		return err == nil
	})
	if _, err := m.Hub.Accounts().Login(context.Background(), "admin", adminPW, ""); err == nil {
		t.Error("the old password still logs in")
	}

	for _, args := range [][]string{
		{"export", "--data", dst, "--nats-url", url},
		{"export"},
		{"reset-password", "--data", dst, "--nats-url", url},
		{"reset-password"},
	} {
		if _, err := runCLI(t, args...); exitCode(err) != 2 {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}

// TestOperationsDocListsExportAndResetFlags keeps the flag tables of
// docs/operations.md for export, import and reset-password complete.
func TestOperationsDocListsExportAndResetFlags(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	flagLine := regexp.MustCompile(`(?m)^  -([a-z-]+)`)
	for _, cmd := range []string{"export", "import", "reset-password"} {
		out, _ := runCLI(t, cmd, "-h")
		names := flagLine.FindAllStringSubmatch(out, -1)
		if len(names) == 0 {
			t.Fatalf("%s -h lists no flags:\n%s", cmd, out)
		}
		for _, n := range names {
			if row := "| `" + cmd + "` | `--" + n[1]; !strings.Contains(string(doc), row) {
				t.Errorf("docs/operations.md has no row %q", row+"...")
			}
		}
	}
}
