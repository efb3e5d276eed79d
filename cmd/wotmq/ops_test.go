package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/hub"
)

func TestOpsFlags(t *testing.T) {
	parse := func(t *testing.T, env map[string]string, args ...string) hub.Limits {
		t.Helper()
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		m := &Main{}
		serveFlags(fs, m)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := applyEnv(fs, func(k string) string { return env[k] }); err != nil {
			t.Fatal(err)
		}
		if m.Options.MetricsAddr == "" {
			t.Error("no metrics address")
		}
		return m.Options.Limits
	}
	t.Run("Defaults", func(t *testing.T) {
		l := parse(t, nil)
		if l.MaxConnections != hub.DefaultMaxConnections || l.MaxPayload != hub.DefaultMaxPayload || l.MinFreeDisk != hub.DefaultMinFreeDisk ||
			l.RateLimit != hub.DefaultRateLimit || l.MaxHistory != hub.DefaultMaxHistory || l.MaxThingsPerAgent != hub.DefaultMaxThingsPerAgent {
			t.Errorf("defaults: %+v", l)
		}
	})
	t.Run("SizesAndZeroForOff", func(t *testing.T) {
		l := parse(t, nil, "--max-payload", "64KiB", "--min-free-disk", "off", "--max-connections", "0", "--max-history", "500", "--rate-limit", "5", "--rate-burst", "7")
		if l.MaxPayload != 64<<10 || l.MinFreeDisk >= 0 || l.MaxConnections >= 0 || l.MaxHistory != 500 || l.RateLimit != 5 || l.RateBurst != 7 {
			t.Errorf("limits: %+v", l)
		}
	})
	t.Run("MemtableSize", func(t *testing.T) {
		for args, want := range map[string]int64{"": hub.DefaultMemTableSize, "64MiB": 64 << 20} {
			var m Main
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			serveFlags(fs, &m)
			if args != "" {
				if err := fs.Parse([]string{"--memtable-size", args}); err != nil {
					t.Fatal(err)
				}
			}
			if m.Options.MemTableSize != want {
				t.Errorf("--memtable-size %q: %d, want %d", args, m.Options.MemTableSize, want)
			}
		}
	})
	t.Run("ConnectTimeoutAndSubscriptions", func(t *testing.T) {
		if l := parse(t, nil); l.ConnectTimeout != broker.DefaultConnectTimeout || l.MaxSubscriptions != broker.DefaultMaxSubscriptions {
			t.Errorf("defaults: connect timeout %v, subscriptions %d", l.ConnectTimeout, l.MaxSubscriptions)
		}
		l := parse(t, map[string]string{"WOTMQ_CONNECT_TIMEOUT": "3s"}, "--max-subscriptions", "50")
		if l.ConnectTimeout != 3*time.Second || l.MaxSubscriptions != 50 {
			t.Errorf("connect timeout %v, subscriptions %d", l.ConnectTimeout, l.MaxSubscriptions)
		}
		for _, bad := range []string{"0", "0s", "-1s"} {
			var m Main
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			serveFlags(fs, &m)
			if err := fs.Parse([]string{"--connect-timeout", bad}); err == nil {
				t.Errorf("--connect-timeout %s accepted", bad)
			}
		}
	})
	t.Run("Environment", func(t *testing.T) {
		l := parse(t, map[string]string{"WOTMQ_MAX_PAYLOAD": "1MiB", "WOTMQ_CLIENT_QUEUE": "64"}, "--max-things", "3")
		if l.MaxPayload != 1<<20 || l.ClientQueue != 64 || l.MaxThingsPerAgent != 3 {
			t.Errorf("limits from env: %+v", l)
		}
	})
	t.Run("RefusesBadSizes", func(t *testing.T) {
		for _, s := range []string{"1.5MiB", "-1", "12XB", "KiB"} {
			if _, err := parseSize(s); err == nil {
				t.Errorf("parseSize(%q) accepted", s)
			}
		}
		for s, want := range map[string]int64{"256KiB": 256 << 10, "64MB": 64 << 20, "1G": 1 << 30, "1048576": 1 << 20, "0": 0} {
			if n, err := parseSize(s); err != nil || n != want {
				t.Errorf("parseSize(%q) = %d, %v; want %d", s, n, err, want)
			}
		}
	})
}

// TestBackupAndRestoreCommands backs a running hub up with "wotmq backup",
// restores the file with "wotmq restore" into a new directory, and serves
// it: the accounts are back.
func TestBackupAndRestoreCommands(t *testing.T) {
	m := startSecure(t, nil)
	if _, err := runCLI(t, "accounts", "add", "app", "--role", "operator", "--new-password", "app password 1234",
		"--broker", m.Hub.MQTTAddr(), "--username", "admin", "--password", adminPW); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "backup", "b.backup", "--broker", m.Hub.MQTTAddr(), "--username", "app", "--password", "app password 1234")
	if err == nil || !strings.Contains(out+err.Error(), "denied") {
		t.Errorf("backup by an operator: %v %s", err, out)
	}
	out, err = runCLI(t, "backup", "b.backup", "--broker", m.Hub.MQTTAddr(), "--username", "admin", "--password", adminPW)
	file := filepath.Join(m.Options.DataDir, "backups", "b.backup")
	if err != nil || !strings.HasPrefix(out, file+" (") {
		t.Fatalf("backup: %v %s", err, out)
	}
	m.Close()

	dir := t.TempDir()
	if out, err := runCLI(t, "restore", "--data", dir, file); err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %v %s", err, out)
	}
	if _, err := runCLI(t, "restore", "--data", dir, file); err == nil {
		t.Error("restore over a store succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "MANIFEST")); err != nil {
		t.Fatal(err)
	}
	m2 := startSecure(t, func(m *Main) { m.Options.DataDir = dir; m.Options.AdminPassword = "" })
	if _, err := m2.Hub.Accounts().Login(context.Background(), "app", "app password 1234", "127.0.0.1"); err != nil {
		t.Errorf("login after restore: %v", err)
	}
}

// TestOperationsDocListsEveryFlag keeps the configuration reference of
// docs/operations.md complete: every serve flag with its variable.
func TestOperationsDocListsEveryFlag(t *testing.T) {
	doc, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	serveFlags(fs, &Main{})
	fs.VisitAll(func(f *flag.Flag) {
		env := "WOTMQ_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if !strings.Contains(string(doc), "`--"+f.Name+"`") || !strings.Contains(string(doc), "`"+env) {
			t.Errorf("docs/operations.md does not list --%s (%s)", f.Name, env)
		}
	})
}
