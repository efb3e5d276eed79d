package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestExportImport: the commands move a stopped hub's accounts into a new
// data directory, where they log in; a second import skips what is there,
// and a command without its target is a usage error.
func TestExportImport(t *testing.T) {
	m := startSecure(t, nil)
	dir := m.Options.DataDir
	if out, err := runCLI(t, "export", "--data", dir); err == nil || !strings.Contains(err.Error(), "is a hub running on it") {
		t.Fatalf("export of a running hub's store: %v %s", err, out)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(t.TempDir(), "hub.archive")
	out, err := runCLI(t, "export", "--data", dir, "--out", archive)
	if err != nil || !strings.Contains(out, "exported 1 account") {
		t.Fatalf("export: %v %s", err, out)
	}
	dst := filepath.Join(t.TempDir(), "new")
	out, err = runCLI(t, "import", "--data", dst, archive)
	if err != nil || !strings.Contains(out, "imported 1 account") {
		t.Fatalf("import: %v %s", err, out)
	}
	out, err = runCLI(t, "import", "--data", dst, archive)
	if err != nil || !strings.Contains(out, "imported 1 account") {
		t.Fatalf("a second import: %v %s", err, out)
	}
	m = startSecure(t, func(m *Main) { m.Options.DataDir = dst })
	defer m.Close()
	if _, err := m.Hub.Accounts().Login(context.Background(), "admin", adminPW, ""); err != nil {
		t.Fatalf("the admin's password after the move: %v", err)
	}
	if _, err := runCLI(t, "import", archive); exitCode(err) != 2 {
		t.Fatalf("import without a target: %v, want a usage error", err)
	}
}
