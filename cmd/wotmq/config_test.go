package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// parseServeConfig parses serve's flags as serve does: the command line,
// the environment, then the config file that --config or WOTMQ_CONFIG
// names.
func parseServeConfig(t *testing.T, env map[string]string, args ...string) (*Main, *flag.FlagSet, settingSources, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	m := &Main{}
	serveFlags(fs, m)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	src, err := settings(fs, m, func(k string) string { return env[k] })
	return m, fs, src, err
}

// writeConfig writes a config file with mode 0600 and returns its path.
func writeConfig(t *testing.T, text string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "wotmq.toml")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestConfigPrecedence(t *testing.T) {
	file := writeConfig(t, `
data = "/from/file"
mqtt-addr = ":1001"
max-queue = 10
sync-writes = true
retention = "720h"
rate-limit = 250.5
max-payload = "1MiB"
retention-override = ["temperature=36h"]
`)
	env := map[string]string{"WOTMQ_CONFIG": file, "WOTMQ_DATA": "/from/env", "WOTMQ_MQTT_ADDR": ":2002"}
	m, _, src, err := parseServeConfig(t, env, "--data", "/from/flag")
	if err != nil {
		t.Fatal(err)
	}
	o := m.Options
	for _, c := range []struct {
		name, got, want, from string
	}{
		{"FlagWinsOverEnvironmentAndFile", o.DataDir, "/from/flag", fromFlag},
		{"EnvironmentWinsOverFile", o.TCPAddr, ":2002", "environment WOTMQ_MQTT_ADDR"},
		{"FileWinsOverDefault", o.Retention.String(), (720 * time.Hour).String(), "file " + file},
		{"DefaultWhereNothingSays", o.WSAddr, ":9001", ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			key := map[string]string{"FlagWinsOverEnvironmentAndFile": "data", "EnvironmentWinsOverFile": "mqtt-addr",
				"FileWinsOverDefault": "retention", "DefaultWhereNothingSays": "ws-addr"}[c.name]
			if c.got != c.want || src[key] != c.from {
				t.Errorf("%s = %q from %q, want %q from %q", key, c.got, src[key], c.want, c.from)
			}
		})
	}
	t.Run("FileTakesEveryKindOfValue", func(t *testing.T) {
		if o.MaxQueue != 10 || !o.SyncWrites || o.Limits.RateLimit != 250.5 || o.Limits.MaxPayload != 1<<20 ||
			o.RetentionOverrides["temperature"] != 36*time.Hour {
			t.Errorf("from the file: max-queue %d sync-writes %v rate-limit %v max-payload %d overrides %v",
				o.MaxQueue, o.SyncWrites, o.Limits.RateLimit, o.Limits.MaxPayload, o.RetentionOverrides)
		}
	})
	t.Run("ConfigFlagWinsOverWOTMQ_CONFIG", func(t *testing.T) {
		other := writeConfig(t, "max-queue = 77\n")
		m, _, _, err := parseServeConfig(t, env, "--config", other)
		if err != nil || m.Options.MaxQueue != 77 {
			t.Errorf("--config over WOTMQ_CONFIG: max-queue %d, %v", m.Options.MaxQueue, err)
		}
	})
	t.Run("RepeatableFlagAsATable", func(t *testing.T) {
		f := writeConfig(t, "[retention-override]\ntemperature = \"720h\"\npresence = 0\n")
		m, _, _, err := parseServeConfig(t, nil, "--config", f)
		if ro := m.Options.RetentionOverrides; err != nil || ro["temperature"] != 720*time.Hour || len(ro) != 2 {
			t.Errorf("retention-override table: %v, %v", ro, err)
		}
	})
}

func TestConfigRefusesWhatItCannotUse(t *testing.T) {
	for _, c := range []struct {
		name, text string
		want       []string // in the error
	}{
		{"UnknownKeyNamedWithItsLine", "data = \"/x\"\n\nmqtt-adr = \":1\"\n", []string{`unknown key "mqtt-adr" (line 3)`, "wotmq serve -h"}},
		{"UnderscoresGetASuggestion", "max_queue = 5\n", []string{`unknown key "max_queue" (line 1)`, "did you mean max-queue?"}},
		{"EveryUnknownKeyAtOnce", "a = 1\nb = 2\n", []string{`"a"`, `"b"`}},
		{"ConfigInsideTheConfig", "config = \"/etc/other.toml\"\n", []string{`unknown key "config"`, "command line only"}},
		{"PrintConfigInsideTheConfig", "print-config = true\n", []string{`unknown key "print-config"`}},
		{"ABadValueNamesTheKey", "retention = \"soon\"\n", []string{"retention (line 1)"}},
		{"AListForASingleValue", "data = [\"/a\", \"/b\"]\n", []string{"data (line 1)", "not a list"}},
		{"ADateIsNoSetting", "retention = 2026-01-01\n", []string{"retention", "want a string, number or boolean"}},
		{"NotTOML", "data = /x\n", []string{"wotmq.toml"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, _, err := parseServeConfig(t, nil, "--config", writeConfig(t, c.text))
			if err == nil {
				t.Fatalf("accepted %q", c.text)
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	t.Run("MissingFile", func(t *testing.T) {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"serve", "--config", filepath.Join(t.TempDir(), "none.toml")}, &out, &errb)
		if err == nil || exitCode(err) != 2 || !strings.Contains(err.Error(), "none.toml") {
			t.Errorf("serve --config with a missing file: %v", err)
		}
	})
}

func TestPrintConfig(t *testing.T) {
	const secret = "the admin password 1234"
	file := writeConfig(t, "max-queue = 10\nlog-level = \"debug\"\n")
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
	}{
		{"SecretFromTheCommandLine", nil, []string{"--admin-password", secret}},
		{"SecretFromTheEnvironment", map[string]string{"WOTMQ_ADMIN_PASSWORD": secret}, nil},
		{"SecretFromTheFile", nil, []string{"--config", writeConfig(t, "admin-password = \""+secret+"\"\n")}},
	} {
		t.Run(c.name+"IsHidden", func(t *testing.T) {
			_, fs, src, err := parseServeConfig(t, c.env, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			var out bytes.Buffer
			if err := printConfig(&out, fs, src); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), secret) || !strings.Contains(out.String(), "# admin-password: set (hidden), from ") {
				t.Errorf("--print-config shows the secret or not that it is set:\n%s", out.String())
			}
		})
	}
	t.Run("EverySettingWithItsSource", func(t *testing.T) {
		out, err := runCLI(t, "serve", "--config", file, "--print-config", "--data", "/d")
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, want := range []string{
			`data = "/d"  # command line`,
			`max-queue = 10  # file ` + file,
			`log-level = "debug"  # file ` + file,
			`mqtt-addr = ":1883"  # default`,
			`retention = "168h"  # default`,
			`mdns = true  # default`,
			`# config file: ` + file,
			`# admin-password: not set`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("--print-config lacks %q:\n%s", want, out)
			}
		}
		fs := flag.NewFlagSet("serve", flag.ContinueOnError)
		serveFlags(fs, &Main{})
		fs.VisitAll(func(f *flag.Flag) {
			if !notInFile[f.Name] && !isSecret(f.Name) && !strings.Contains(out, "\n"+f.Name+" = ") {
				t.Errorf("--print-config lacks --%s", f.Name)
			}
		})
	})
	t.Run("ItsOutputIsAConfigFileWithTheSameSettings", func(t *testing.T) {
		args := []string{"--config", file, "--data", "/d", "--retention-override", "temperature=36h,presence=0",
			"--max-connections", "0", "--max-session-expiry", "0", "--min-free-disk", "1GiB", "--rate-limit", "12.5", "--mdns=false"}
		_, fs, src, err := parseServeConfig(t, nil, args...)
		if err != nil {
			t.Fatal(err)
		}
		var first bytes.Buffer
		printConfig(&first, fs, src)
		again := writeConfig(t, first.String())
		_, fs2, src2, err := parseServeConfig(t, nil, "--config", again)
		if err != nil {
			t.Fatalf("--print-config output is no config file: %v\n%s", err, first.String())
		}
		var second bytes.Buffer
		printConfig(&second, fs2, src2)
		if values(first.String()) != values(second.String()) {
			t.Errorf("settings differ after a round trip through the file:\n%s\n---\n%s", first.String(), second.String())
		}
	})
}

// values strips a --print-config output to its settings (no sources).
func values(printed string) string {
	var b strings.Builder
	for line := range strings.SplitSeq(printed, "\n") {
		if strings.HasPrefix(line, "#") || line == "" {
			continue
		}
		v, _, _ := strings.Cut(line, "  # ")
		b.WriteString(v + "\n")
	}
	return b.String()
}

func TestConfigSecrets(t *testing.T) {
	t.Run("AdminPasswordFileFromTheConfig", func(t *testing.T) {
		pw := filepath.Join(t.TempDir(), "admin-pw")
		if err := os.WriteFile(pw, []byte("from a file 1234\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		m, _, _, err := parseServeConfig(t, nil, "--config", writeConfig(t, "admin-password-file = \""+pw+"\"\n"))
		if err != nil || m.AdminPasswordFile != pw {
			t.Fatalf("admin-password-file from the config: %q, %v", m.AdminPasswordFile, err)
		}
		m.LogOutput, m.LogFormat, m.Stdout = &lockedBuffer{}, "json", &lockedBuffer{}
		o := &m.Options
		o.TCPAddr, o.WSAddr, o.HTTPAddr, o.MetricsAddr, o.MDNS, o.DataDir, o.PasswordCost = "127.0.0.1:0", "off", "off", "off", false, t.TempDir(), 4
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if _, err := m.Hub.Accounts().Login(context.Background(), "admin", "from a file 1234", ""); err != nil {
			t.Errorf("the admin password from the file the config names: %v", err)
		}
	})
	t.Run("AWorldReadableConfigWithASecretIsWarnedAbout", func(t *testing.T) {
		file := writeConfig(t, "admin-password = \"in the config 1234\"\n")
		if err := os.Chmod(file, 0o644); err != nil {
			t.Fatal(err)
		}
		m, _, _, err := parseServeConfig(t, nil, "--config", file)
		if err != nil {
			t.Fatal(err)
		}
		logs := &lockedBuffer{}
		m.LogOutput, m.LogFormat, m.Stdout = logs, "json", &lockedBuffer{}
		o := &m.Options
		o.TCPAddr, o.WSAddr, o.HTTPAddr, o.MetricsAddr, o.MDNS, o.DataDir, o.PasswordCost = "127.0.0.1:0", "off", "off", "off", false, t.TempDir(), 4
		if err := m.Run(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer m.Close()
		if !strings.Contains(logs.String(), "every user of this machine may read it") || strings.Contains(logs.String(), "in the config 1234") {
			t.Errorf("logs: %s", logs)
		}
	})
}

// TestEverySecretCanComeFromAFile: every flag that takes a password or
// token has a -file twin (and, like every flag, a WOTMQ_* variable), so
// that no secret must be put on a command line.
func TestEverySecretCanComeFromAFile(t *testing.T) {
	secretFlag := regexp.MustCompile(`(?m)^\s+-(\S*(?:password|token|secret))\b`)
	for _, cmd := range [][]string{{"serve"}, {"accounts", "list"}, {"token"}, {"things"}, {"invoke"}, {"sub"},
		{"backup"}, {"bench"}, {"conformance"}} {
		var out, errb bytes.Buffer
		_ = run(context.Background(), append(cmd, "-h"), &out, &errb)
		usage := out.String() + errb.String()
		found := secretFlag.FindAllStringSubmatch(usage, -1)
		if len(found) == 0 && cmd[0] != "serve" {
			t.Errorf("wotmq %s -h names no password flag:\n%s", strings.Join(cmd, " "), usage)
		}
		for _, m := range found {
			if !strings.Contains(usage, "-"+m[1]+"-file ") {
				t.Errorf("wotmq %s: --%s has no --%s-file", strings.Join(cmd, " "), m[1], m[1])
			}
		}
	}
}

// TestDevDoesNotAdvertise: make run (serve --dev) does not announce a hub
// that admits anyone from loopback to the LAN, unless mDNS is asked for.
func TestDevDoesNotAdvertise(t *testing.T) {
	for _, c := range []struct {
		name string
		env  map[string]string
		file string
		args []string
		want bool
	}{
		{"ServeAdvertises", nil, "", nil, true},
		{"DevDoesNot", nil, "", []string{"--dev"}, false},
		{"DevFromTheEnvironmentDoesNot", map[string]string{"WOTMQ_DEV": "true"}, "", nil, false},
		{"DevWithMDNSOnTheCommandLine", nil, "", []string{"--dev", "--mdns"}, true},
		{"DevWithMDNSFromTheEnvironment", map[string]string{"WOTMQ_MDNS": "true"}, "", []string{"--dev"}, true},
		{"DevWithMDNSFromTheFile", nil, "dev = true\nmdns = true\n", nil, true},
		{"NoDevWithMDNSOff", nil, "", []string{"--mdns=false"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			args := c.args
			if c.file != "" {
				args = append(args, "--config", writeConfig(t, c.file))
			}
			m, _, _, err := parseServeConfig(t, c.env, args...)
			if err != nil {
				t.Fatal(err)
			}
			if m.Options.MDNS != c.want {
				t.Errorf("mdns %v, want %v", m.Options.MDNS, c.want)
			}
		})
	}
}
