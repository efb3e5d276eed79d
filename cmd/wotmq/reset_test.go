package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestResetPassword(t *testing.T) {
	m := startSecure(t, nil)
	dir := m.Options.DataDir
	t.Run("RefusedWhileTheHubRuns", func(t *testing.T) {
		out, err := runCLI(t, "reset-password", "--data", dir)
		if err == nil || !strings.Contains(err.Error(), "is a hub running on it") {
			t.Errorf("reset-password on a running hub's store: %v %s", err, out)
		}
	})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	login := func(t *testing.T, id, pw string) error {
		t.Helper()
		m := startSecure(t, func(m *Main) { m.Options.DataDir = dir })
		defer m.Close()
		_, err := m.Hub.Accounts().Login(context.Background(), id, pw, "")
		return err
	}
	t.Run("FromAFile", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "pw")
		os.WriteFile(file, []byte("the new admin password\n"), 0o600)
		out, err := runCLI(t, "reset-password", "--data", dir, "--new-password-file", file)
		if err != nil || !strings.Contains(out, `set the password of "admin"`) {
			t.Fatalf("%v %s", err, out)
		}
		if err := login(t, "admin", "the new admin password"); err != nil {
			t.Errorf("the new password: %v", err)
		}
		if err := login(t, "admin", adminPW); err == nil {
			t.Error("the old password still logs in")
		}
	})
	t.Run("MadeUpAndPrinted", func(t *testing.T) {
		out, err := runCLI(t, "reset-password", "--data", dir)
		if err != nil {
			t.Fatalf("%v %s", err, out)
		}
		i := strings.Index(out, "\n    ")
		if i < 0 {
			t.Fatalf("no password printed: %s", out)
		}
		pw := strings.TrimSpace(strings.SplitN(out[i+5:], "\n", 2)[0])
		if err := login(t, "admin", pw); err != nil {
			t.Errorf("the printed password: %v", err)
		}
	})
	t.Run("AnUnknownIDBecomesAnAdmin", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "pw")
		os.WriteFile(file, []byte("rescue password 1234\n"), 0o600)
		if out, err := runCLI(t, "reset-password", "--data", dir, "--new-password-file", file, "rescue"); err != nil || !strings.Contains(out, "created the admin account") {
			t.Fatalf("%v %s", err, out)
		}
		m := startSecure(t, func(m *Main) { m.Options.DataDir = dir })
		defer m.Close()
		a, err := m.Hub.Accounts().Login(context.Background(), "rescue", "rescue password 1234", "")
		if err != nil || a.Role != "admin" {
			t.Errorf("rescue: %+v %v", a, err)
		}
	})
	t.Run("NoStoreThere", func(t *testing.T) {
		if _, err := runCLI(t, "reset-password", "--data", t.TempDir()); err == nil || !strings.Contains(err.Error(), "no store") {
			t.Errorf("reset-password on an empty directory: %v", err)
		}
	})
}
