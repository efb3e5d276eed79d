package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// The config file of wotmq serve (--config FILE, WOTMQ_CONFIG) is TOML
// whose keys are the flags' names: mqtt-addr = ":1883", max-queue = 500,
// sync-writes = true, retention = "720h". A repeatable flag takes an array
// or a table: retention-override = ["temperature=720h"], or
// [retention-override] with temperature = "720h". A key that is no flag
// is an error naming it. The command line wins over the environment,
// which wins over the file, which wins over the defaults; --print-config
// shows the outcome and where each value came from.
//
// BurntSushi/toml reads it: no dependencies, one package of about 5,700
// lines with a stable API since 2013 and TOML 1.1. pelletier/go-toml/v2
// (also without dependencies) is faster, which a file read once at start
// does not need, and is half as large again (8,800 lines, an "unstable"
// parser API besides).

// Where a setting's value came from, for --print-config.
const (
	fromDefault = "default"
	fromFlag    = "command line"
)

// notInFile are the serve flags that are no settings of the file.
var notInFile = map[string]bool{"config": true, "print-config": true}

// repeatable is a flag Value that takes several values, each with its
// own Set (a slice or a table in the file).
type repeatable interface {
	flag.Value
	values() []string
}

// settingSources records where each serve flag got its value.
type settingSources map[string]string

// commandLine notes the flags given on the command line.
func (s settingSources) commandLine(fs *flag.FlagSet) {
	fs.Visit(func(f *flag.Flag) { s[f.Name] = fromFlag })
}

// envName is the environment variable of a flag.
func envName(flagName string) string {
	return "WOTMQ_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// applyConfigFile sets each flag the TOML file at path names, except those
// already in src (the command line, the environment), and records them.
func applyConfigFile(fs *flag.FlagSet, path string, src settingSources) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("config: %w", err)
	}
	var file map[string]any
	if _, err := toml.Decode(string(data), &file); err != nil {
		return fmt.Errorf("config %s: %w", path, err)
	}
	keys := make([]string, 0, len(file))
	for k := range file {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		f := fs.Lookup(k)
		if f == nil || notInFile[k] {
			errs = append(errs, unknownKey(path, string(data), k, fs))
			continue
		}
		if _, set := src[k]; set {
			continue // the command line or the environment wins
		}
		if err := setFromTOML(f, file[k]); err != nil {
			errs = append(errs, fmt.Errorf("config %s: %s%s: %w", path, k, lineOf(string(data), k), err))
			continue
		}
		src[k] = "file " + path
	}
	return errors.Join(errs...)
}

// unknownKey is the error of a key that names no setting.
func unknownKey(path, data, key string, fs *flag.FlagSet) error {
	hint := "the keys are the names of the flags of wotmq serve, e.g. mqtt-addr (wotmq serve -h)"
	if notInFile[key] {
		hint = "--" + key + " is given on the command line only"
	} else if alt := strings.ReplaceAll(strings.ToLower(key), "_", "-"); alt != key && fs.Lookup(alt) != nil {
		hint = "did you mean " + alt + "?"
	}
	return fmt.Errorf("config %s: unknown key %q%s: %s", path, key, lineOf(data, key), hint)
}

// lineOf returns " (line N)" for the line where key is set, when found.
func lineOf(data, key string) string {
	re := regexp.MustCompile(`^\s*(?:` + regexp.QuoteMeta(key) + `|"` + regexp.QuoteMeta(key) + `"|'` + regexp.QuoteMeta(key) + `')\s*=|^\s*\[\s*"?` + regexp.QuoteMeta(key) + `"?\s*\]`)
	for i, line := range strings.Split(data, "\n") {
		if re.MatchString(line) {
			return " (line " + strconv.Itoa(i+1) + ")"
		}
	}
	return ""
}

// setFromTOML sets a flag from a decoded TOML value.
func setFromTOML(f *flag.Flag, v any) error {
	_, multi := f.Value.(repeatable)
	switch v := v.(type) {
	case []any:
		if !multi {
			return errors.New("takes one value, not a list")
		}
		for _, e := range v {
			s, err := tomlScalar(e)
			if err != nil {
				return err
			}
			if err := f.Value.Set(s); err != nil {
				return err
			}
		}
		return nil
	case map[string]any:
		if !multi {
			return errors.New("takes one value, not a table")
		}
		names := make([]string, 0, len(v))
		for name := range v {
			names = append(names, name)
		}
		slices.Sort(names)
		for _, name := range names {
			s, err := tomlScalar(v[name])
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if err := f.Value.Set(name + "=" + s); err != nil {
				return err
			}
		}
		return nil
	}
	s, err := tomlScalar(v)
	if err != nil {
		return err
	}
	if multi && s == "" {
		return nil // nothing to add
	}
	return f.Value.Set(s)
}

// tomlScalar is a TOML string, integer, float or boolean as a flag's
// text.
func tomlScalar(v any) (string, error) {
	switch v := v.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case bool:
		return strconv.FormatBool(v), nil
	}
	return "", fmt.Errorf("want a string, number or boolean, got %T", v)
}

// tomlValue is a flag's current value as a TOML value: booleans and
// numbers bare, lists for repeatable flags, everything else a string.
func tomlValue(f *flag.Flag) string {
	if r, ok := f.Value.(repeatable); ok {
		vs := r.values()
		q := make([]string, len(vs))
		for i, v := range vs {
			q[i] = strconv.Quote(v)
		}
		return "[" + strings.Join(q, ", ") + "]"
	}
	if g, ok := f.Value.(flag.Getter); ok {
		switch v := g.Get().(type) {
		case bool:
			return strconv.FormatBool(v)
		case int:
			return strconv.Itoa(v)
		case int64:
			return strconv.FormatInt(v, 10)
		case uint, uint64:
			return fmt.Sprint(v)
		case float64:
			return strconv.FormatFloat(v, 'g', -1, 64)
		case time.Duration:
			return strconv.Quote(shortDuration(v))
		}
	}
	return strconv.Quote(f.Value.String())
}

// shortDuration writes 168h rather than 168h0m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// isSecret reports whether a flag's value is itself a secret.
func isSecret(name string) bool { _, ok := secretFlagFiles[name]; return ok }

// printConfig writes the effective settings as a config file: every
// setting with its value and where the value came from. Secrets are never
// printed: a secret that is set shows as a comment.
func printConfig(w io.Writer, fs *flag.FlagSet, src settingSources) error {
	var b strings.Builder
	b.WriteString("# wotmq serve: the settings in effect, each with where its value came from\n")
	b.WriteString("# (command line > WOTMQ_* environment > config file > default).\n")
	if f := fs.Lookup("config"); f != nil && f.Value.String() != "" {
		fmt.Fprintf(&b, "# config file: %s\n", f.Value.String())
	}
	fs.VisitAll(func(f *flag.Flag) {
		if notInFile[f.Name] {
			return
		}
		from := src[f.Name]
		if from == "" {
			from = fromDefault
		}
		if isSecret(f.Name) {
			if f.Value.String() == "" {
				fmt.Fprintf(&b, "# %s: not set\n", f.Name)
			} else {
				fmt.Fprintf(&b, "# %s: set (hidden), from %s\n", f.Name, from)
			}
			return
		}
		fmt.Fprintf(&b, "%s = %s  # %s\n", f.Name, tomlValue(f), from)
	})
	_, err := io.WriteString(w, b.String())
	return err
}

// configGroups orders the commented config file: each flag under the
// heading of its group; a flag no group names goes under "Other
// settings", so that a new flag is never missing from the file.
var configGroups = []struct {
	heading string
	flags   []string
}{
	{"Listeners (\"off\" disables one)", []string{"mqtt-addr", "ws-addr", "http-addr", "mqtts-addr", "wss-addr", "https-addr", "metrics-addr", "pprof-addr", "public-host", "mdns", "mdns-interface", "explorer"}},
	{"Storage", []string{"data", "backup-dir", "sync-writes", "memtable-size", "min-free-disk", "retention", "retention-override", "max-history", "action-expiry", "outcome-recall"}},
	{"Accounts, logins and TLS (docs/security.md)", []string{"dev", "admin-password-file", "admin-password", "login-failures", "login-address-failures", "login-delay", "tls-cert", "tls-key", "tls-client-ca"}},
	{"Limits (docs/security.md, \"Limits\"; 0 turns a limit off)", []string{"max-connections", "connect-timeout", "max-subscriptions", "max-retained", "max-things", "max-affordances", "max-payload", "max-queue", "client-queue", "client-queue-bytes", "request-window", "rate-limit", "rate-burst", "max-session-expiry", "max-keepalive", "http-read-timeout", "http-idle-timeout", "max-streams"}},
	{"Edge to cloud (docs/bridges.md)", []string{"upstream", "upstream-username", "upstream-password-file", "upstream-things", "upstream-retry"}},
	{"Bridges (docs/bridges.md)", []string{"homeassistant", "homeassistant-prefix", "homie"}},
	{"Logging", []string{"log-level", "log-format"}},
}

// exampleConfig writes a config file with every setting of fs, commented
// out at its default, under its usage text; set holds the settings to
// write uncommented instead, with their values as TOML.
func exampleConfig(w io.Writer, fs *flag.FlagSet, header string, set map[string]string) error {
	var b strings.Builder
	b.WriteString(header)
	done := map[string]bool{}
	write := func(f *flag.Flag) {
		done[f.Name] = true
		b.WriteString("\n")
		for _, line := range wrap(f.Usage, 76) {
			b.WriteString("# " + line + "\n")
		}
		fmt.Fprintf(&b, "# (--%s, %s)\n", f.Name, envName(f.Name))
		if v, ok := set[f.Name]; ok {
			fmt.Fprintf(&b, "%s = %s\n", f.Name, v)
			return
		}
		if isSecret(f.Name) {
			fmt.Fprintf(&b, "#%s = \"\"\n", f.Name)
			return
		}
		fmt.Fprintf(&b, "#%s = %s\n", f.Name, tomlValue(f))
	}
	for _, g := range configGroups {
		fmt.Fprintf(&b, "\n\n## %s\n", g.heading)
		for _, name := range g.flags {
			if f := fs.Lookup(name); f != nil {
				write(f)
			}
		}
	}
	first := true
	fs.VisitAll(func(f *flag.Flag) {
		if done[f.Name] || notInFile[f.Name] {
			return
		}
		if first {
			b.WriteString("\n\n## Other settings\n")
			first = false
		}
		write(f)
	})
	_, err := io.WriteString(w, b.String())
	return err
}

// wrap breaks text into lines of at most width characters, at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		if line != "" && len(line)+1+len(word) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += word
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
