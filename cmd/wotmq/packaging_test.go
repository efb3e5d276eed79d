package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var updateConfig = flag.Bool("update-config", false, "rewrite packaging/wotmq.toml from the serve flags")

// packagedConfig is the config file the Debian package installs as
// /etc/wotmq/wotmq.toml: every setting of wotmq serve, commented out at
// its default under its help text, but the data directory systemd makes
// (StateDirectory=wotmq).
func packagedConfig(t *testing.T) []byte {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	serveFlags(fs, &Main{})
	var b bytes.Buffer
	err := exampleConfig(&b, fs, `# /etc/wotmq/wotmq.toml: the settings of the wotmq hub (wotmq serve --config).
#
# Every setting of "wotmq serve -h" is here, commented out at its default
# under its help text: uncomment and change what you need, then
# "systemctl restart wotmq". A flag on the command line or a WOTMQ_*
# variable (systemctl edit wotmq: Environment=...) wins over this file;
# "wotmq serve --config /etc/wotmq/wotmq.toml --print-config" shows what
# is in effect and where each value comes from. Durations are like "90s",
# "36h"; sizes like "256KiB", "1GiB". Keep secrets out of this file: give
# the first admin password with admin-password-file (a file readable by
# the wotmq user only). docs/operations.md explains every setting.
#
# This file is generated from the flags (cmd/wotmq TestPackagedConfig).
`, map[string]string{"data": `"/var/lib/wotmq"`})
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestPackagedConfig keeps packaging/wotmq.toml what the flags say:
// go test ./cmd/wotmq -run TestPackagedConfig -update-config rewrites it.
func TestPackagedConfig(t *testing.T) {
	want := packagedConfig(t)
	const path = "../../packaging/wotmq.toml"
	if *updateConfig {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("packaging/wotmq.toml is not what the flags say; run: go test ./cmd/wotmq -run TestPackagedConfig -update-config")
	}
	t.Run("EverySettingIsInIt", func(t *testing.T) {
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		serveFlags(fs, &Main{})
		fs.VisitAll(func(f *flag.Flag) {
			if !notInFile[f.Name] && !strings.Contains(string(got), "\n#"+f.Name+" = ") && !strings.Contains(string(got), "\n"+f.Name+" = ") {
				t.Errorf("packaging/wotmq.toml lacks %s", f.Name)
			}
		})
	})
	t.Run("ItIsAValidConfigAsShipped", func(t *testing.T) {
		m, _, src, err := parseServeConfig(t, nil, "--config", path)
		if err != nil {
			t.Fatal(err)
		}
		if m.Options.DataDir != "/var/lib/wotmq" || src["data"] != "file "+path {
			t.Errorf("data %q from %q", m.Options.DataDir, src["data"])
		}
	})
	t.Run("EachCommentedSettingWorksUncommented", func(t *testing.T) {
		var lines []string
		for line := range strings.SplitSeq(string(got), "\n") {
			if k, _, ok := strings.Cut(strings.TrimPrefix(line, "#"), " = "); ok && strings.HasPrefix(line, "#") && !strings.Contains(k, " ") {
				lines = append(lines, strings.TrimPrefix(line, "#"))
			}
		}
		if len(lines) < 40 {
			t.Fatalf("only %d commented settings", len(lines))
		}
		if _, _, _, err := parseServeConfig(t, nil, "--config", writeConfig(t, strings.Join(lines, "\n")+"\n")); err != nil {
			t.Errorf("the defaults as written, uncommented, are no valid config: %v", err)
		}
	})
}

// TestFirstAdminPasswordInAFile: a service's standard output ends in a
// journal, so the first start also writes the generated password into the
// data directory, readable by the hub's user only.
func TestFirstAdminPasswordInAFile(t *testing.T) {
	out, logs := &lockedBuffer{}, &lockedBuffer{}
	m := startSecure(t, func(m *Main) { m.Options.AdminPassword, m.Stdout, m.LogOutput = "", out, logs })
	file := filepath.Join(m.Options.DataDir, InitialAdminPasswordFile)
	fi, err := os.Stat(file)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", file, fi.Mode().Perm())
	}
	b, _ := os.ReadFile(file)
	pw := strings.TrimSpace(string(b))
	if pw == "" || !strings.Contains(out.String(), "    "+pw+"\n") || !strings.Contains(out.String(), file) {
		t.Errorf("file holds %q; stdout:\n%s", pw, out)
	}
	if _, err := m.Hub.Accounts().Login(context.Background(), "admin", pw, ""); err != nil {
		t.Errorf("the password in the file does not log in: %v", err)
	}
	if strings.Contains(logs.String(), pw) || !strings.Contains(logs.String(), file) {
		t.Errorf("the log names not the file, or holds the password:\n%s", logs)
	}
	t.Run("NotWrittenAgainOnTheNextStart", func(t *testing.T) {
		os.Remove(file)
		m.Close()
		startSecure(t, func(m2 *Main) { m2.Options.DataDir, m2.Options.AdminPassword = m.Options.DataDir, "" })
		if _, err := os.Stat(file); !os.IsNotExist(err) {
			t.Errorf("a later start wrote %s again: %v", file, err)
		}
	})
}
