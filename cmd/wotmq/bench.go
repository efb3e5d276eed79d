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
       wotmq bench report [--doc FILE] [--note TEXT] RESULT.json...

Loads the target: run it against a hub or broker you may slow down (the
load can reach its limits and disturb its other clients), not against a
production hub in use.

Runs bounded load scenarios against an MQTT broker and prints, per
scenario, messages per second, latency percentiles, drops, and the broker
process's CPU and resident memory (of --pid, else of the process listening
on the broker's port, when it runs on this machine). Every scenario ends by
itself after --warmup plus --duration, or sooner after --count messages.

  fan-in    --agents agents publish events, each of --consumers consumers
            receives them all
  fan-out   one agent publishes events, each of --fanout consumers
            receives them all
  action    for each --concurrency level, that many consumers invoke an
            action one request at a time; one agent answers them all
  idle      --idle connections, each publishing one event every --interval;
            --idle-consumers consumers share them

--target wotmq speaks the hub's topics (agents register a Thing, consumers
use the twin topics; a hub in --dev mode needs no credentials); --target
raw sends the same traffic on plain topics, through any broker. The agents
delete the Things they registered (PREFIX-*) at the end, which also fails
their unfinished requests; --keep leaves them in the hub.

A publish the target refuses, or a reply that is lost, is an error: the
run prints the first one and exits with status 1. A wotmq hub refuses
more than --rate-limit publishes a second per connection (1,000 by
default): bench such a hub with --rate-limit 0, or load it with fewer
messages in flight (--inflight, --window).

"wotmq bench report" puts the --json results of several runs side by side
in a Markdown table, into --doc between the markers <!-- bench:begin -->
and <!-- bench:end --> (the rest of the file is kept), or on stdout.

Examples:
  wotmq bench --broker 127.0.0.1:1883 --scenarios action --concurrency 1,8
  wotmq bench --broker 127.0.0.1:1884 --target raw --json > mosquitto.json
  wotmq bench report --doc docs/benchmarks.md wotmq.json mosquitto.json

Flags (each also settable as WOTMQ_<FLAG>, e.g. WOTMQ_BROKER):
`

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "report" {
		return benchReport(args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("wotmq bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg loadtest.Config
	var target, kinds, levels, label string
	var fanIn, fanOut, idle loadtest.Scenario
	var asJSON, quiet bool
	var cpuProfile string
	fs.StringVar(&cfg.Broker, "broker", "", "MQTT over TCP address of the broker, host:port (required)")
	fs.StringVar(&target, "target", string(loadtest.TargetWotmq), "topic scheme: wotmq (the hub's topics) or raw (plain topics, any broker)")
	fs.StringVar(&cfg.Username, "username", "", "user name every client sends (optional)")
	fs.StringVar(&cfg.Password, "password", "", "password or token every client sends (optional; prefer --password-file or WOTMQ_PASSWORD)")
	pwFile := fs.String("password-file", "", "file whose first line is the password or token (wins over --password)")
	fs.StringVar(&cfg.Prefix, "prefix", "bench", "start of every client ID and Thing ID")
	fs.BoolVar(&cfg.Keep, "keep", false, "leave the Things the agents registered (and their unfinished requests) in the hub")
	fs.StringVar(&kinds, "scenarios", "fan-in,fan-out,action,idle", "scenarios to run, in order")
	fs.IntVar(&fanIn.Agents, "agents", 8, "fan-in: publishing agents")
	fs.IntVar(&fanIn.Consumers, "consumers", 4, "fan-in: consumers")
	fs.IntVar(&fanOut.Consumers, "fanout", 16, "fan-out: consumers")
	fs.StringVar(&levels, "concurrency", "1,8,64", "action: concurrency levels, comma-separated")
	fs.IntVar(&idle.Agents, "idle", 1000, "idle: connections")
	fs.IntVar(&idle.Consumers, "idle-consumers", 0, "idle: consumers sharing their events (default: one per 1,000 connections)")
	fs.DurationVar(&idle.Interval, "interval", time.Second, "idle: time between one connection's events")
	fs.DurationVar(&cfg.Duration, "duration", 10*time.Second, "measurement of each scenario")
	fs.DurationVar(&cfg.Warmup, "warmup", 2*time.Second, "unmeasured load before each measurement (negative: none)")
	fs.Int64Var(&cfg.Count, "count", 0, "most messages (round trips) measured per scenario; 0: no limit")
	fs.IntVar(&cfg.Payload, "payload", 64, "event payload size, bytes")
	fs.IntVar(&cfg.Window, "window", 256, "fan-in, fan-out: most events in flight end to end")
	fs.IntVar(&cfg.InFlight, "inflight", 4, "fan-in, fan-out: publishes each agent has awaiting PUBACK")
	fs.DurationVar(&cfg.KeepAlive, "keepalive", 30*time.Second, "MQTT keep-alive of every client")
	fs.DurationVar(&cfg.Timeout, "timeout", 5*time.Second, "limit of every connect, publish and round trip")
	fs.DurationVar(&cfg.Wait, "wait", 0, "wait this long for the broker to accept connections")
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
	if cfg.Broker == "" {
		return usageError{"bench: --broker host:port is required"}
	}
	cfg.Target = loadtest.Target(target)
	if cfg.Target != loadtest.TargetWotmq && cfg.Target != loadtest.TargetRaw {
		return usageError{fmt.Sprintf("bench: --target %q: want wotmq or raw", target)}
	}
	fanIn.Kind, fanOut.Kind, idle.Kind = loadtest.FanIn, loadtest.FanOut, loadtest.Idle
	if idle.Consumers <= 0 {
		idle.Consumers = max(1, (idle.Agents+999)/1000)
	}
	var scenarios []loadtest.Scenario
	for _, k := range strings.Split(kinds, ",") {
		switch loadtest.Kind(strings.TrimSpace(k)) {
		case loadtest.FanIn:
			scenarios = append(scenarios, fanIn)
		case loadtest.FanOut:
			scenarios = append(scenarios, fanOut)
		case loadtest.Idle:
			scenarios = append(scenarios, idle)
		case loadtest.Action:
			for _, l := range strings.Split(levels, ",") {
				n, err := strconv.Atoi(strings.TrimSpace(l))
				if err != nil || n < 1 {
					return usageError{fmt.Sprintf("bench: --concurrency %q: want positive integers, comma-separated", levels)}
				}
				scenarios = append(scenarios, loadtest.Scenario{Kind: loadtest.Action, Concurrency: n})
			}
		default:
			return usageError{fmt.Sprintf("bench: unknown scenario %q (want fan-in, fan-out, action, idle)", k)}
		}
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
	rep, err := loadtest.Run(ctx, cfg, scenarios)
	rep.Label = label
	if rep.Label == "" {
		rep.Label = string(cfg.Target) + " " + cfg.Broker
	}
	if len(rep.Results) > 0 || err == nil {
		if asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if jerr := enc.Encode(rep); jerr != nil {
				return jerr
			}
		} else if terr := loadtest.WriteTable(stdout, rep); terr != nil {
			return terr
		}
	}
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	return benchErrors(rep)
}

// benchErrors fails a run in which the target refused publishes or lost
// replies, with a hint when a limit of the hub refused them.
func benchErrors(rep loadtest.Report) error {
	var n int64
	first := ""
	for _, r := range rep.Results {
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
	var reports []loadtest.Report
	for _, f := range fs.Args() {
		b, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var rep loadtest.Report
		if err := json.Unmarshal(b, &rep); err != nil {
			return fmt.Errorf("bench report: %s: %w", f, err)
		}
		reports = append(reports, rep)
	}
	var section bytes.Buffer
	if err := loadtest.WriteComparison(&section, reports, loadtest.ThisMachine(), note); err != nil {
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
