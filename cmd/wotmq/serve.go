package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
)

// Main is the hub process: configuration in, a running hub out. Tests start
// it on 127.0.0.1:0.
type Main struct {
	Options   hub.Options
	LogLevel  string // trace, debug, info, warn, error
	LogFormat string // auto, console, json
	LogOutput io.Writer
	// Stdout receives the first admin password, once (os.Stdout when nil).
	Stdout io.Writer
	// TLS files; see the serve flags.
	TLSCert, TLSKey, TLSClientCA string
	// PprofAddr serves the Go profiler on a loopback address (pprof.go).
	PprofAddr string
	// AdminPasswordFile holds Options.AdminPassword (its first line), so
	// that the password is not on the command line (secrets.go).
	AdminPasswordFile string
	// UpstreamPasswordFile holds Options.Upstream.Password (its first
	// line): the edge hub's password at its cloud hub (upstream.go).
	UpstreamPasswordFile string
	// ConfigFile is the TOML file the settings were completed from
	// (config.go); only for the record: serve reads it before Run.
	ConfigFile string
	// secretFlags are the secret-bearing flags given on the command line,
	// warned about once the log exists.
	secretFlags []string
	// readableSecrets names the config file when it holds a secret and
	// every user of the machine may read it (warned about in Run).
	readableSecrets string

	Hub       *hub.Hub
	pprof     *http.Server
	pprofAddr string // bound address of PprofAddr
}

// Run starts the hub and returns once it serves.
func (m *Main) Run(ctx context.Context) error {
	if err := checkPprofAddr(m.PprofAddr); err != nil {
		return err
	}
	log, err := newLogger(m.LogOutput, m.LogLevel, m.LogFormat)
	if err != nil {
		return err
	}
	opts := m.Options
	opts.Logger = &log
	if opts.Build.Version == "" {
		opts.Build = hub.ReadBuild(version)
	}
	if m.AdminPasswordFile != "" {
		if opts.AdminPassword != "" {
			return usageError{"give --admin-password-file or --admin-password (WOTMQ_ADMIN_PASSWORD), not both"}
		}
		if opts.AdminPassword, err = readSecretFile(m.AdminPasswordFile); err != nil {
			return err
		}
	}
	if m.UpstreamPasswordFile != "" {
		if opts.Upstream.Password, err = readSecretFile(m.UpstreamPasswordFile); err != nil {
			return err
		}
	}
	warnCommandLineSecrets(log, m.secretFlags)
	if m.readableSecrets != "" {
		log.Warn().Str("file", m.readableSecrets).Msg("the config file holds a secret and every user of this machine may read it: chmod o-r it, or give the secret in a file (--admin-password-file)")
	}
	if opts.TLS, err = loadTLS(m.TLSCert, m.TLSKey, m.TLSClientCA, log); err != nil {
		return err
	}
	hub, err := hub.New(opts)
	if err != nil {
		return err
	}
	if err := hub.Start(ctx); err != nil {
		hub.Close()
		return err
	}
	m.Hub = hub
	if err := m.startPprof(); err != nil {
		hub.Close()
		m.Hub = nil
		return err
	}
	if pw := hub.InitialAdminPassword(); pw != "" {
		out := m.Stdout
		if out == nil {
			out = os.Stdout
		}
		file := m.writeInitialAdminPassword(log, pw)
		where := "It is shown only this once."
		if file != "" {
			where = "It is also in " + file + " (readable by the hub's user only); delete the file once you changed it."
		}
		fmt.Fprintf(out, "\nwotmq created the account \"admin\" with the password\n\n    %s\n\n%s Change it with: wotmq accounts passwd admin\n\n", pw, where)
	}
	return nil
}

// InitialAdminPasswordFile is the file in the data directory where the
// first start writes the generated admin password: a service's standard
// output ends in a journal that an operator may not read in time.
const InitialAdminPasswordFile = "initial-admin-password"

// writeInitialAdminPassword writes the generated admin password into the
// data directory, readable by the hub's user only, and returns the file
// ("" when it could not: the password is printed anyway).
func (m *Main) writeInitialAdminPassword(log zerolog.Logger, pw string) string {
	dir := m.Options.DataDir
	if dir == "" {
		dir = hub.DefaultDataDir
	}
	file := filepath.Join(dir, InitialAdminPasswordFile)
	if err := os.WriteFile(file, []byte(pw+"\n"), 0o600); err != nil {
		log.Warn().Err(err).Msg("could not write the first admin password into the data directory; it is printed on standard output only")
		return ""
	}
	if err := os.Chmod(file, 0o600); err != nil { // an older file of another mode
		log.Warn().Err(err).Str("file", file).Msg("first admin password file")
	}
	log.Warn().Str("file", file).Msg("the first admin password is in this file, readable by the hub's user only: change the password (wotmq accounts passwd admin) and delete the file")
	return file
}

// loadTLS builds the TLS configuration of the serve flags (nil without a
// certificate).
//
// The certificate and key are read again when their files change
// (tlsreload.go), so that a renewal needs no restart.
func loadTLS(certFile, keyFile, clientCA string, log zerolog.Logger) (*tls.Config, error) {
	if certFile == "" && keyFile == "" {
		if clientCA != "" {
			return nil, usageError{"--tls-client-ca needs --tls-cert and --tls-key"}
		}
		return nil, nil
	}
	files, err := newCertFiles(certFile, keyFile, certCheckInterval, log)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{GetCertificate: files.get, MinVersion: tls.VersionTLS12}
	if clientCA != "" {
		pem, err := os.ReadFile(clientCA)
		if err != nil {
			return nil, fmt.Errorf("TLS client CA: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("TLS client CA %s: no PEM certificates", clientCA)
		}
		cfg.ClientCAs, cfg.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

// Close stops the hub.
func (m *Main) Close() error {
	m.stopPprof()
	if m.Hub == nil {
		return nil
	}
	return m.Hub.Close()
}

func newLogger(w io.Writer, level, format string) (zerolog.Logger, error) {
	if w == nil {
		w = os.Stderr
	}
	lvl, err := zerolog.ParseLevel(strings.ToLower(level))
	if err != nil || level == "" {
		if level != "" {
			return zerolog.Logger{}, usageError{fmt.Sprintf("log level %q: want trace, debug, info, warn or error", level)}
		}
		lvl = zerolog.InfoLevel
	}
	switch format {
	case "", "auto":
		if f, ok := w.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
			w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly}
		}
	case "console":
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.TimeOnly, NoColor: true}
	case "json":
	default:
		return zerolog.Logger{}, usageError{fmt.Sprintf("log format %q: want auto, console or json", format)}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger(), nil
}

// serveFlags binds the serve flags to m; every flag defaults to its
// WOTMQ_* environment variable when that is set.
func serveFlags(fs *flag.FlagSet, m *Main) {
	o := &m.Options
	fs.StringVar(&m.ConfigFile, "config", "", "TOML file of settings, its keys named as these flags (mqtt-addr = \":1883\"); the command line and WOTMQ_* variables win over it")
	fs.StringVar(&o.TCPAddr, "mqtt-addr", hub.DefaultTCPAddr, "MQTT over TCP listen address (\"off\" to disable)")
	fs.StringVar(&o.WSAddr, "ws-addr", hub.DefaultWSAddr, "MQTT over WebSocket listen address (\"off\" to disable)")
	fs.StringVar(&o.DataDir, "data", hub.DefaultDataDir, "data directory (Badger)")
	fs.BoolVar(&o.Dev, "dev", false, "development mode: admit clients without credentials from loopback addresses (never on a network)")
	fs.StringVar(&o.AdminPassword, "admin-password", "", "password of the account admin created on a hub without accounts (default: a random one, printed once); prefer --admin-password-file or WOTMQ_ADMIN_PASSWORD: the command line is visible to every user of the machine")
	fs.StringVar(&m.AdminPasswordFile, "admin-password-file", "", "file whose first line is the password of the account admin created on a hub without accounts")
	fs.StringVar(&m.TLSCert, "tls-cert", "", "TLS certificate file (PEM); with --tls-key enables MQTT over TLS and secure WebSocket")
	fs.StringVar(&m.TLSKey, "tls-key", "", "TLS private key file (PEM)")
	fs.StringVar(&m.TLSClientCA, "tls-client-ca", "", "CA file (PEM) for optional client certificates; a certificate whose common name is an account logs in as it")
	fs.StringVar(&o.TLSAddr, "mqtts-addr", hub.DefaultTLSAddr, "MQTT over TLS listen address (with --tls-cert; \"off\" to disable)")
	fs.StringVar(&o.WSSAddr, "wss-addr", hub.DefaultWSSAddr, "MQTT over secure WebSocket listen address (with --tls-cert; \"off\" to disable)")
	fs.StringVar(&o.HTTPAddr, "http-addr", hub.DefaultHTTPAddr, "HTTP + SSE listen address: the WoT HTTP binding and Discovery API, docs/http.md (\"off\" to disable)")
	fs.StringVar(&o.HTTPSAddr, "https-addr", hub.DefaultHTTPSAddr, "HTTPS listen address (with --tls-cert; \"off\" to disable)")
	fs.BoolVar(&o.MDNS, "mdns", true, "advertise the hub over DNS-SD (mDNS) as a WoT directory (_wot._tcp, subtype _directory); off with --dev unless given")
	fs.BoolVar(&o.Explorer, "explorer", true, "serve the twin explorer, web pages to find, watch, write and invoke Things, at / on the HTTP listeners (docs/explorer.md)")
	fs.StringVar(&o.MDNSInterface, "mdns-interface", "", "network interface to advertise on (default: the system's multicast interface)")
	fs.BoolVar(&o.HomeAssistant, "homeassistant", false, "publish a Home Assistant MQTT discovery config for every twin (docs/bridges.md)")
	fs.StringVar(&o.HomeAssistantPrefix, "homeassistant-prefix", "homeassistant", "Home Assistant's discovery prefix (its MQTT integration's setting)")
	fs.BoolVar(&o.Homie, "homie", false, "publish every twin as a Homie 5 device under homie/5/ and take commands on its /set topics (docs/bridges.md)")
	fs.StringVar(&o.PublicHost, "public-host", "localhost", "host name that clients use to reach the hub, written into TD forms")
	fs.DurationVar(&o.Retention, "retention", 7*24*time.Hour, "how long event and property history is kept unless a TD says otherwise")
	fs.DurationVar(&o.ActionExpiry, "action-expiry", 24*time.Hour, "how long a request may wait for its agent when the consumer set no message expiry")
	fs.IntVar(&o.MaxQueue, "max-queue", hub.DefaultMaxQueue, "most unfinished requests per agent; more are refused with quota")
	fs.IntVar(&o.OutcomeRecall, "outcome-recall", 10, "finished requests kept per action or property for the outcome history")
	fs.Var((*retentionOverrides)(&o.RetentionOverrides), "retention-override", "history retention for affordances of a name, over the TD: NAME=DURATION, repeatable or comma-separated (0 keeps only the latest value)")
	fs.BoolVar(&o.SyncWrites, "sync-writes", false, "fsync every write (survives power loss; slower). Without it what the hub acknowledged survives a process crash")
	o.MemTableSize = hub.DefaultMemTableSize
	fs.Var(byteSize{p: &o.MemTableSize}, "memtable-size", "size of the store's memtables (16MiB to 1GiB): larger ones cost memory (up to three are held, each filling up on a hub that keeps writing) and spare CPU on a busy hub")
	fs.StringVar(&m.LogLevel, "log-level", "info", "log level: trace, debug, info, warn, error")
	fs.StringVar(&m.LogFormat, "log-format", "auto", "log format: auto (console on a terminal, JSON otherwise), console, json")
	fs.StringVar(&m.PprofAddr, "pprof-addr", "", "serve the Go profiler (/debug/pprof/) on this loopback address, e.g. 127.0.0.1:6060 (default: off)")
	opsFlags(fs, m)
	httpFlags(fs, m)
	upstreamFlags(fs, m)
	clusterFlags(fs, m)
}

// applyEnv sets every flag not given on the command line from its
// WOTMQ_* environment variable.
func applyEnv(fs *flag.FlagSet, getenv func(string) string) error {
	src := settingSources{}
	src.commandLine(fs)
	return applyEnvTo(fs, getenv, src)
}

// applyEnvTo sets every flag not in src from its WOTMQ_* environment
// variable, and records it in src.
func applyEnvTo(fs *flag.FlagSet, getenv func(string) string, src settingSources) error {
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		if _, set := src[f.Name]; set || f.Name == "print-config" {
			return
		}
		env := envName(f.Name)
		if v := getenv(env); v != "" {
			if err := f.Value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
				return
			}
			src[f.Name] = "environment " + env
		}
	})
	return errors.Join(errs...)
}

// settings completes the serve flags after fs.Parse: the environment for
// those not on the command line, then the config file (--config,
// WOTMQ_CONFIG) for those in neither. It returns where each value came
// from.
func settings(fs *flag.FlagSet, m *Main, getenv func(string) string) (settingSources, error) {
	src := settingSources{}
	src.commandLine(fs)
	if err := applyEnvTo(fs, getenv, src); err != nil {
		return nil, err
	}
	defer quietDev(m, src)
	if m.ConfigFile == "" {
		return src, nil
	}
	if err := applyConfigFile(fs, m.ConfigFile, src); err != nil {
		return nil, err
	}
	for name, from := range src {
		if isSecret(name) && from == "file "+m.ConfigFile {
			if fi, err := os.Stat(m.ConfigFile); err == nil && fi.Mode().Perm()&0o004 != 0 {
				m.readableSecrets = m.ConfigFile
			}
		}
	}
	return src, nil
}

func serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	m := &Main{LogOutput: stderr}
	serveFlags(fs, m)
	printCfg := fs.Bool("print-config", false, "print the settings in effect as a config file, each with where it came from, secrets hidden; then exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, `Usage: wotmq serve [--config FILE] [flags]

Runs the hub. Examples:
  wotmq serve --data /var/lib/wotmq --log-level debug
  wotmq serve --config /etc/wotmq/wotmq.toml --print-config

Every flag is also a WOTMQ_<FLAG> environment variable (e.g. WOTMQ_DATA)
and a key of the config file (data = "/var/lib/wotmq"). The command line
wins over the environment, which wins over the file.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	src, err := settings(fs, m, os.Getenv)
	if err != nil {
		return usageError{err.Error()}
	}
	if *printCfg {
		return printConfig(stdout, fs, src)
	}
	noteCommandLineSecrets(fs, m)
	if err := m.Run(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	return m.Close()
}

// quietDev turns mDNS off for a development hub (--dev) unless --mdns
// was given (command line, environment or file): make run must not
// announce a hub that admits anyone from loopback to the whole LAN.
func quietDev(m *Main, src settingSources) {
	if _, asked := src["mdns"]; m.Options.Dev && !asked {
		m.Options.MDNS = false
		src["mdns"] = "--dev (off unless asked)"
	}
}

// retentionOverrides is the --retention-override flag: NAME=DURATION
// pairs, repeatable or comma-separated.
type retentionOverrides map[string]time.Duration

func (r *retentionOverrides) String() string {
	if r == nil || *r == nil {
		return ""
	}
	var parts []string
	for k, v := range *r {
		parts = append(parts, k+"="+v.String())
	}
	slices.Sort(parts)
	return strings.Join(parts, ",")
}

// values are the NAME=DURATION pairs, sorted (for the config file).
func (r *retentionOverrides) values() []string {
	parts := []string{}
	if r != nil {
		for k, v := range *r {
			parts = append(parts, k+"="+shortDuration(v))
		}
	}
	slices.Sort(parts)
	return parts
}

func (r *retentionOverrides) Set(s string) error {
	if *r == nil {
		*r = map[string]time.Duration{}
	}
	for _, part := range strings.Split(s, ",") {
		name, dur, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok || name == "" {
			return fmt.Errorf("want NAME=DURATION, got %q", part)
		}
		d, err := time.ParseDuration(dur)
		if dur == "0" {
			d, err = 0, nil
		}
		if err != nil || d < 0 {
			return fmt.Errorf("%q: want a duration such as 36h, or 0", dur)
		}
		(*r)[name] = d
	}
	return nil
}
