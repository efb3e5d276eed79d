package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
)

// Secrets (the admin password of serve, the password or token of the
// client verbs) are best given in a file (--admin-password-file,
// --password-file) or the environment (WOTMQ_ADMIN_PASSWORD,
// WOTMQ_PASSWORD): a command line is readable by every user of the machine
// (ps, /proc/PID/cmdline). The flags that take a secret itself still work,
// with a warning.

// secretFlagFiles maps each flag that carries a secret to the flag that
// reads it from a file instead.
var secretFlagFiles = map[string]string{
	"admin-password": "admin-password-file",
	"password":       "password-file",
	"agent-password": "agent-password-file", // wotmq conformance
	"new-password":   "new-password-file",   // wotmq accounts
}

// readSecretFile returns the first line of a file, without its line end
// (so that `echo pw > file` works).
func readSecretFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("secret file: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	line = strings.TrimSuffix(line, "\r")
	if line == "" {
		return "", fmt.Errorf("secret file %s: the first line is empty", path)
	}
	return line, nil
}

// noteCommandLineSecrets records which secret-bearing serve flags were on
// the command line (not those applyEnv set from the environment).
func noteCommandLineSecrets(fs *flag.FlagSet, m *Main) {
	m.secretFlags = commandLineSecrets(fs)
}

func commandLineSecrets(fs *flag.FlagSet) []string {
	var out []string
	fs.Visit(func(f *flag.Flag) {
		if _, ok := secretFlagFiles[f.Name]; ok {
			out = append(out, f.Name)
		}
	})
	return out
}

// warnCommandLineSecrets logs one warning per secret given on the command
// line, naming the flag only (never the value).
func warnCommandLineSecrets(log zerolog.Logger, flags []string) {
	for _, name := range flags {
		log.Warn().Str("flag", "--"+name).
			Msgf("a secret on the command line is visible to every user of this machine (ps, /proc); use --%s or WOTMQ_%s instead",
				secretFlagFiles[name], strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
	}
}

// warnClientSecrets tells a person at a terminal that --password was on
// the command line; scripts (no terminal) are not nagged on every run.
func warnClientSecrets(fs *flag.FlagSet, stderr io.Writer) {
	f, ok := stderr.(*os.File)
	if !ok || !isatty.IsTerminal(f.Fd()) {
		return
	}
	for _, name := range commandLineSecrets(fs) {
		fmt.Fprintf(stderr, "warning: --%s on the command line is visible to every user of this machine; use --%s or WOTMQ_%s\n",
			name, secretFlagFiles[name], strings.ToUpper(strings.ReplaceAll(name, "-", "_")))
	}
}

// passwordOf returns the password a client verb connects with: the first
// line of file when given (it wins over --password and WOTMQ_PASSWORD),
// else pw.
func passwordOf(pw, file string) (string, error) {
	if file == "" {
		return pw, nil
	}
	return readSecretFile(file)
}
