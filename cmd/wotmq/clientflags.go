package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/wotmq/wotmq/wot"
)

// The client verbs (things, td, read, observe, write, invoke, sub,
// history) talk to a hub as an MQTT client through package wot. Each
// prints for people by default and JSON with --json.

// clientFlags are the flags every client verb has.
type clientFlags struct {
	broker             string
	username, password string
	passwordFile       string
	timeout            time.Duration
	json               bool
}

func (f *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.broker, "broker", "127.0.0.1:1883", "hub address: host:port, or a URL mqtt://, mqtts://, ws://host:port/mqtt, wss://")
	fs.StringVar(&f.username, "username", "", "account to connect as")
	fs.StringVar(&f.password, "password", "", "its password or access token (prefer --password-file or WOTMQ_PASSWORD: a command line is visible to every user of the machine)")
	fs.StringVar(&f.passwordFile, "password-file", "", "file whose first line is the password or token (wins over --password)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "how long to wait for the hub and for each answer")
	fs.BoolVar(&f.json, "json", false, "print JSON, one value per line, for scripts")
}

// clientVerb describes a verb for parseVerb.
type clientVerb struct {
	name     string // e.g. "read"
	usage    string // usage text, with an example
	min, max int    // number of positional arguments (max -1: any)
}

// parseVerb parses a verb's flags, which may come before, between or after
// the positional arguments, and each of which may also be set by its
// WOTMQ_<FLAG> environment variable; it returns the positional arguments.
// flag.ErrHelp means the usage was printed.
func parseVerb(fs *flag.FlagSet, v clientVerb, args []string, stderr io.Writer) ([]string, error) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stderr, v.usage)
		fmt.Fprintf(stderr, "\nFlags (each also settable as WOTMQ_<FLAG>, e.g. WOTMQ_BROKER):\n")
		fs.PrintDefaults()
	}
	var pos []string
	for {
		for len(args) > 0 && negativeNumber(args[0]) {
			pos, args = append(pos, args[0]), args[1:] // a value such as -4, not a flag
		}
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, flag.ErrHelp
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	warnClientSecrets(fs, stderr)
	if err := applyEnv(fs, os.Getenv); err != nil {
		return nil, usageError{err.Error()}
	}
	if len(pos) < v.min || (v.max >= 0 && len(pos) > v.max) {
		fs.Usage()
		return nil, usageError{fmt.Sprintf("wotmq %s: wrong number of arguments", v.name)}
	}
	return pos, nil
}

// negativeNumber reports whether s is a negative JSON number.
func negativeNumber(s string) bool {
	var f float64
	return len(s) > 1 && s[0] == '-' && json.Unmarshal([]byte(s), &f) == nil
}

// connect connects to the hub as a consumer.
func (f *clientFlags) connect(ctx context.Context) (*wot.Client, error) {
	pw, err := passwordOf(f.password, f.passwordFile)
	if err != nil {
		return nil, err
	}
	if err := checkHub(ctx, f.broker, f.timeout); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	c, err := wot.Connect(ctx, wot.Options{
		URL:      f.broker,
		Username: f.username,
		Password: pw,
		Timeout:  f.timeout,
	})
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", f.broker, err)
	}
	return c, nil
}

// thing connects and fetches a Thing's twin TD.
func (f *clientFlags) thing(ctx context.Context, id string) (*wot.Client, *wot.ConsumedThing, error) {
	c, err := f.connect(ctx)
	if err != nil {
		return nil, nil, err
	}
	t, err := c.Thing(ctx, id)
	if err != nil {
		closeClient(c)
		return nil, nil, err
	}
	return c, t, nil
}

// closeClient disconnects, giving the hub a moment to take the DISCONNECT.
func closeClient(c *wot.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.Close(ctx)
}

// runVerb runs the body of a verb: flag.ErrHelp (the usage was printed) is
// success.
func runVerb(err error) error {
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	return err
}

// pretty formats a JSON value for people: objects and arrays indented,
// scalars as they are, and anything that is not JSON as text.
func pretty(raw []byte) string {
	if len(raw) == 0 {
		return "(empty)"
	}
	if !json.Valid(raw) {
		return string(raw)
	}
	if raw[0] == '{' || raw[0] == '[' {
		var b bytes.Buffer
		if json.Indent(&b, raw, "", "  ") == nil {
			return b.String()
		}
	}
	return string(raw)
}

// jsonValue returns raw as a JSON value for --json output: itself when it
// is JSON, else a JSON string of it (nil for an empty payload).
func jsonValue(raw []byte) json.RawMessage {
	switch {
	case len(raw) == 0:
		return nil
	case json.Valid(raw):
		return raw
	}
	b, _ := json.Marshal(string(raw))
	return b
}

// printJSON writes v as one line of JSON.
func printJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", b)
	return err
}

// parseValue reads a value from the command line: JSON if it parses
// (42, true, "text", {"to": 30}), else the text as a JSON string.
func parseValue(s string) json.RawMessage {
	if json.Valid([]byte(s)) {
		return json.RawMessage(s)
	}
	b, _ := json.Marshal(s)
	return b
}

// stamp is the time of a message for people.
func stamp(t time.Time) string {
	if t.IsZero() {
		return time.Now().Format("15:04:05.000")
	}
	return t.Local().Format("15:04:05.000")
}
