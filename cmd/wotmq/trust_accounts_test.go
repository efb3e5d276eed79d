package main

import (
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Tests of issue 12, item 15: secrets from a file or the environment
// rather than the command line, metrics on loopback by default.

// acctParseServe parses serve flags as serve does: the command line, then
// the environment.
func acctParseServe(t *testing.T, env map[string]string, args ...string) *Main {
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
	noteCommandLineSecrets(fs, m)
	return m
}

func TestSecretsAndMetricsDefaults(t *testing.T) {
	t.Run("MetricsOnLoopbackByDefault", func(t *testing.T) {
		if got := acctParseServe(t, nil).Options.MetricsAddr; got != "127.0.0.1:9090" {
			t.Errorf("default --metrics-addr %q, want 127.0.0.1:9090", got)
		}
	})
	t.Run("AdminPasswordFromFile", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "admin-pw")
		if err := os.WriteFile(file, []byte("from a file 1234\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		logs := &lockedBuffer{}
		m := startSecure(t, func(m *Main) {
			m.Options.AdminPassword = ""
			m.AdminPasswordFile = file
			m.LogOutput = logs
		})
		if _, err := m.Hub.Accounts().Login(context.Background(), "admin", "from a file 1234", ""); err != nil {
			t.Errorf("admin password from --admin-password-file: %v", err)
		}
		if strings.Contains(logs.String(), "command line") {
			t.Errorf("warned about a secret from a file: %s", logs)
		}
	})
	t.Run("AdminPasswordFromEnvironmentIsNotWarnedAbout", func(t *testing.T) {
		m := acctParseServe(t, map[string]string{"WOTMQ_ADMIN_PASSWORD": "from the env 1234"})
		if m.Options.AdminPassword != "from the env 1234" || len(m.secretFlags) != 0 {
			t.Errorf("WOTMQ_ADMIN_PASSWORD: %q, command-line secrets %v", m.Options.AdminPassword, m.secretFlags)
		}
	})
	t.Run("CommandLineSecretIsWarnedAbout", func(t *testing.T) {
		m := acctParseServe(t, nil, "--admin-password", "on the cmdline 12")
		logs := &lockedBuffer{}
		m.LogOutput, m.LogFormat, m.Stdout = logs, "json", io.Discard
		m.Options.TCPAddr, m.Options.WSAddr, m.Options.DataDir = "127.0.0.1:0", "off", t.TempDir()
		m.Options.HTTPAddr, m.Options.MetricsAddr, m.Options.MDNS, m.Options.PasswordCost = "off", "off", false, 4
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if !strings.Contains(logs.String(), `"level":"warn"`) || !strings.Contains(logs.String(), "--admin-password-file") {
			t.Errorf("no warning about --admin-password: %s", logs)
		}
		if strings.Contains(logs.String(), "on the cmdline 12") {
			t.Error("the log holds the password")
		}
	})
	t.Run("BothPasswordAndFileRefused", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "pw")
		_ = os.WriteFile(file, []byte("x"), 0o600)
		m := &Main{AdminPasswordFile: file, LogOutput: io.Discard}
		m.Options.AdminPassword = "also given 1234"
		if err := m.Run(context.Background()); err == nil {
			m.Close()
			t.Error("both --admin-password and --admin-password-file accepted")
		}
	})
	t.Run("ClientPasswordFile", func(t *testing.T) {
		m := startSecure(t, nil)
		file := filepath.Join(t.TempDir(), "pw")
		if err := os.WriteFile(file, []byte(adminPW+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if out, err := runCLI(t, "accounts", "list", "--broker", m.Hub.MQTTAddr(), "--username", "admin", "--password-file", file); err != nil {
			t.Errorf("accounts list with --password-file: %v %s", err, out)
		}
		if out, err := runCLI(t, "things", "--broker", m.Hub.MQTTAddr(), "--username", "admin", "--password-file", file); err != nil {
			t.Errorf("things with --password-file: %v %s", err, out)
		}
	})
}
