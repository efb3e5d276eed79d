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
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/wotmq/wotmq/loadtest"
)

const benchUsage = `Usage: wotmq bench --broker host:port [--target wotmq|raw] [flags]
       wotmq bench --against LABEL=TARGET@HOST:PORT[#PID] --against ... [--rounds N] [flags]
       wotmq bench report [--doc FILE] [--note TEXT] RESULT.json...

Loads the target: run it against a hub or broker you may slow down (the
load can reach its limits and disturb its other clients), not against a
production hub in use.

Runs bounded load scenarios against an MQTT broker and prints, per
scenario, messages per second, latency percentiles, loss, and the broker
process's CPU (also per message) and resident memory (of --pid, else of
the process listening on the broker's port, when it runs on this
machine). Every scenario ends by itself after --warmup plus --duration,
or sooner after --count messages.

--scenarios is a comma-separated list of shapes:
  qQ:A->C     events: A agents publish, each of C consumers receives
              every event, at QoS Q (0: the agents publish as fast as
              their connection takes it, waiting for nothing; 1: each has
              --inflight publishes awaiting PUBACK); each at every
              --payloads size
  actions:N   N consumers, a Thing each, invoke an action one request at
              a time; one agent answers them all (through a wotmq hub the
              twin path: invokeaction, the agent, the completed status;
              through any other broker plain MQTT 5 request/response on
              ResponseTopic with CorrelationData)
  idle:N      N connections that send nothing but keep-alive: the
              broker's resident memory per connection, and one PINGREQ
              each during the measurement (answered: no stall)

--target wotmq speaks the hub's topics (agents register a Thing, consumers
use the twin topics; a hub in --dev mode needs no credentials); --target
raw sends the same traffic on plain topics, through any broker. The agents
delete the Things they registered (PREFIX-*) at the end, which also fails
their unfinished requests; --keep leaves them in the hub.

--against (repeatable) compares brokers: each shape runs against each
broker in turn, --rounds times (A B C A B C ...), so that a change of the
machine's load between runs shifts every broker alike; the first broker is
the subject, the second the reference of the targets in reports.

A publish the target refuses, or a reply that is lost, is an error: the
run prints the first one and exits with status 1. A wotmq hub refuses
more than --rate-limit publishes a second per connection (1,000 by
default): bench such a hub with --rate-limit 0.

"wotmq bench report" puts the --json results of runs side by side in a
Markdown table (medians of rounds, ratios, targets), into --doc between
the markers <!-- bench:begin --> and <!-- bench:end --> (the rest of the
file is kept), or on stdout.

Examples:
  wotmq bench --broker 127.0.0.1:1883 --scenarios actions:1,actions:8
  wotmq bench --against wotmq=wotmq@127.0.0.1:1883 --against mosquitto=raw@127.0.0.1:1884 --json > both.json
  wotmq bench report --doc docs/benchmarks.md both.json

Flags (each also settable as WOTMQ_<FLAG>, e.g. WOTMQ_BROKER):
`

// DefaultBenchScenarios are the shapes of the performance issue (15).
const DefaultBenchScenarios = "q0:4->1,q0:8->8,q1:4->4,q0:1->16,actions:1,actions:8,actions:64"

type againstFlag []loadtest.Broker

func (a *againstFlag) String() string { return "" }

func (a *againstFlag) Set(s string) error {
	b, err := loadtest.ParseBroker(s)
	if err != nil {
		return err
	}
	*a = append(*a, b)
	return nil
}

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return benchReport(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("wotmq bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadtest.Config
	var target, kinds, payloads, label string
	var against againstFlag
	var rounds int
	var asJSON, quiet bool
	var cpuProfile string
	fs.StringVar(&cfg.Broker, "broker", "", "MQTT over TCP address of the broker, host:port (this or --against)")
	fs.StringVar(&target, "target", string(loadtest.TargetWotmq), "topic scheme: wotmq (the hub's topics) or raw (plain topics, any broker)")
	fs.Var(&against, "against", "a broker to compare, LABEL=TARGET@HOST:PORT[#PID] (repeatable; instead of --broker)")
	fs.IntVar(&rounds, "rounds", 3, "with --against: rounds of each shape against every broker")
	fs.IntVar(&cfg.FirstRound, "first-round", 1, "with --against: number of the first round (to merge runs of several invocations)")
	fs.StringVar(&cfg.Username, "username", "", "user name every client sends (optional)")
	fs.StringVar(&cfg.Password, "password", "", "password or token every client sends (optional; prefer --password-file or WOTMQ_PASSWORD)")
	pwFile := fs.String("password-file", "", "file whose first line is the password or token (wins over --password)")
	fs.StringVar(&cfg.Prefix, "prefix", "bench", "start of every client ID and Thing ID")
	fs.BoolVar(&cfg.Keep, "keep", false, "leave the Things the agents registered (and their unfinished requests) in the hub")
	fs.StringVar(&kinds, "scenarios", DefaultBenchScenarios, "shapes to run, in order (qQ:A->C, actions:N, idle:N)")
	fs.StringVar(&payloads, "payloads", "64,1024", "event payload sizes, bytes, comma-separated: every event shape runs at each")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measurement of each scenario")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured load before each measurement (negative: none)")
	fs.Int64Var(&cfg.Count, "count", 0, "most messages (round trips) measured per scenario; 0: no limit")
	fs.IntVar(&cfg.Window, "window", 0, "events: most events in flight end to end (0: no bound)")
	fs.IntVar(&cfg.InFlight, "inflight", 1, "events at QoS 1: publishes each agent has awaiting PUBACK")
	fs.DurationVar(&cfg.KeepAlive, "keepalive", 60*time.Second, "MQTT keep-alive of every client")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "limit of every connect, publish and round trip")
	fs.DurationVar(&cfg.Wait, "wait", 0, "wait this long for the broker to accept connections")
	fs.DurationVar(&cfg.Drain, "drain", 5*time.Second, "most time to wait after a measurement for messages on their way")
	fs.IntVar(&cfg.Pid, "pid", 0, "broker process ID, for its CPU and memory (default: the process listening on the port)")
	fs.StringVar(&label, "label", "", "name of this run in reports (default: the target and address)")
	fs.BoolVar(&asJSON, "json", false, "print the results as JSON (for wotmq bench report)")
	fs.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	fs.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of the load tool itself to this file")
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	warnClientSecrets(fs, stderr)
	if err := applyEnv(fs, os.Getenv); err != nil {
		return usageError{err.Error()}
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", fs.Arg(0))}
	}
	var err error
	if cfg.Password, err = passwordOf(cfg.Password, *pwFile); err != nil {
		return err
	}
	if (cfg.Broker == "") == (len(against) == 0) {
		return usageError{"bench: give either --broker host:port or --against (one or more)"}
	}
	cfg.Target = loadtest.Target(target)
	if cfg.Target != loadtest.TargetWotmq && cfg.Target != loadtest.TargetRaw {
		return usageError{fmt.Sprintf("bench: --target %q: want wotmq or raw", target)}
	}
	scenarios, err := parseBenchScenarios(kinds, payloads)
	if err != nil {
		return usageError{"bench: " + err.Error()}
	}
	if !quiet {
		cfg.Progress = stderr
	}

	if os.Getenv("GOGC") == "" {
		// Thousands of clients make a large live heap; collecting it at
		// the default pace costs the load tool a third of its CPU, which
		// it shares with the broker.
		debug.SetGCPercent(400)
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var mx loadtest.Matrix
	if len(against) > 0 {
		mx, err = loadtest.Interleave(ctx, cfg, against, scenarios, rounds)
	} else {
		var rep loadtest.Report
		rep, err = loadtest.Run(ctx, cfg, scenarios)
		rep.Label = label
		if rep.Label == "" {
			rep.Label = string(cfg.Target) + " " + cfg.Broker
		}
		mx = loadtest.MatrixOf(rep)
	}
	if len(mx.Runs) > 0 || err == nil {
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(mx); jerr != nil {
				return jerr
			}
		} else if terr := loadtest.WriteTrials(stdout, mx); terr != nil {
			return terr
		}
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return benchErrors(mx)
}

// parseBenchScenarios reads --scenarios and --payloads.
func parseBenchScenarios(kinds, payloads string) ([]loadtest.Scenario, error) {
	var sizes []int
	for _, p := range strings.Split(payloads, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("--payloads %q: want positive integers, comma-separated", payloads)
		}
		sizes = append(sizes, n)
	}
	var events, others []loadtest.Scenario
	for _, k := range strings.Split(kinds, ",") {
		k = strings.TrimSpace(k)
		what, arg, _ := strings.Cut(k, ":")
		switch {
		case what == "actions" || what == "idle":
			n, err := strconv.Atoi(arg)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("scenario %q: want %s:N with N at least 1", k, what)
			}
			if what == "actions" {
				others = append(others, loadtest.Scenario{Kind: loadtest.Action, Concurrency: n})
			} else {
				others = append(others, loadtest.Scenario{Kind: loadtest.Idle, Agents: n})
			}
		case what == "q0" || what == "q1":
			a, c, ok := strings.Cut(arg, "->")
			na, err1 := strconv.Atoi(a)
			nc, err2 := strconv.Atoi(c)
			if !ok || err1 != nil || err2 != nil || na < 1 || nc < 1 {
				return nil, fmt.Errorf("scenario %q: want qQ:A->C (A agents, C consumers)", k)
			}
			s := loadtest.Scenario{Kind: loadtest.FanIn, Agents: na, Consumers: nc, QoS: what[1] - '0'}
			if na == 1 {
				s.Kind = loadtest.FanOut
			}
			events = append(events, s)
		default:
			return nil, fmt.Errorf("unknown scenario %q (want qQ:A->C, actions:N, idle:N)", k)
		}
	}
	// Every event shape at the first size, then at the next: the shapes
	// stay together in reports.
	var out []loadtest.Scenario
	for _, size := range sizes {
		for _, s := range events {
			s.Payload = size
			out = append(out, s)
		}
	}
	return append(out, others...), nil
}

// benchErrors fails a run in which the target refused publishes or lost
// replies, with a hint when a limit of the hub refused them.
func benchErrors(mx loadtest.Matrix) error {
	var n int64
	first := ""
	for _, r := range mx.Runs {
		n += r.Errors
		if first == "" && r.FirstError != "" {
			first = r.Scenario + ": " + r.FirstError
		}
	}
	if n == 0 {
		return nil
	}
	msg := fmt.Sprintf("bench: %d errors; the first: %s", n, first)
	switch {
	case strings.Contains(first, "rate_limited") || strings.Contains(first, "rate too high"):
		msg += "\nhint: the hub's rate limit refused publishes (--rate-limit, 1,000 a second per connection by default): run the hub with --rate-limit 0 to measure it, or send fewer at once (--inflight, --window)"
	case strings.Contains(first, "quota"):
		msg += "\nhint: a quota of the hub refused them (--max-queue, --max-things): raise it on the hub, or run fewer agents"
	case strings.Contains(first, "not authorized") || strings.Contains(first, "bad user name"):
		msg += "\nhint: the hub wants credentials (--username, --password-file), or run it with --dev"
	}
	return errors.New(msg)
}

// benchReport writes the side-by-side table of several --json results.
func benchReport(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq bench report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var doc, note string
	fs.StringVar(&doc, "doc", "", "Markdown file to write the table into, between the bench markers (default: stdout)")
	fs.StringVar(&note, "note", "", "text to print under the heading")
	fs.Usage = func() {
		fmt.Fprint(stderr, benchUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usageError{err.Error()}
	}
	if fs.NArg() == 0 {
		return usageError{"bench report: name at least one file of wotmq bench --json results"}
	}
	var ms []loadtest.Matrix
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var mx loadtest.Matrix
		if err := json.Unmarshal(b, &mx); err != nil {
			return fmt.Errorf("bench report: %s: %w", f, err)
		}
		ms = append(ms, mx)
	}
	var section bytes.Buffer
	if err := loadtest.WriteComparison(&section, loadtest.Merge(ms...), loadtest.ThisMachine(), note); err != nil {
		return err
	}
	if doc == "" {
		_, err := stdout.Write(section.Bytes())
		return err
	}
	old, err := os.ReadFile(doc)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return os.WriteFile(doc, loadtest.Splice(old, section.Bytes()), 0o644)
}
