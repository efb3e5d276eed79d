package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/wotmq/wotmq/conformance"
)

const conformanceUsage = `Usage: wotmq conformance --broker host:port [--agent ID] [--username U --password P] [flags]

Checks a running hub against the wotmq wire contract (docs/topics.md): it
registers a test Thing as an agent, drives every operation through the
Thing's TD forms as a consumer, and deletes the Thing again. It prints one
line per check and exits with status 1 if any check failed.

Example:
  wotmq conformance --broker localhost:1883
  wotmq conformance --broker hub.example.com:1883 --agent ci-agent --timeout 10s --json

Flags (each also settable as WOTMQ_<FLAG>, e.g. WOTMQ_BROKER):
`

// result is one check in the --json output.
type result struct {
	ID    string `json:"id"`
	Title string `json:"title"`
	Cites string `json:"cites"`
	Pass  bool   `json:"pass"`
	Error string `json:"error,omitempty"`
}

func runConformance(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wotmq conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg conformance.Config
	var asJSON bool
	fs.StringVar(&cfg.Broker, "broker", "", "MQTT over TCP address of the hub, host:port (required)")
	fs.StringVar(&cfg.AgentID, "agent", conformance.DefaultAgentID, "agent identity (MQTT username) that registers the test Thing")
	fs.StringVar(&cfg.AgentPassword, "agent-password", "", "agent password or token (optional; prefer --agent-password-file or WOTMQ_AGENT_PASSWORD)")
	agentPWFile := fs.String("agent-password-file", "", "file whose first line is the agent password or token (wins over --agent-password)")
	fs.StringVar(&cfg.Username, "username", "", "consumer username (optional)")
	fs.StringVar(&cfg.Password, "password", "", "consumer password (optional; prefer --password-file or WOTMQ_PASSWORD)")
	pwFile := fs.String("password-file", "", "file whose first line is the consumer password or token (wins over --password)")
	fs.StringVar(&cfg.ThingID, "thing", "", "ID of the test Thing (default "+conformance.ThingIDPrefix+"<random>)")
	fs.DurationVar(&cfg.Timeout, "timeout", conformance.DefaultTimeout, "time limit of each check")
	fs.BoolVar(&asJSON, "json", false, "print the results as a JSON array of {id, title, cites, pass, error}")
	fs.Usage = func() {
		fmt.Fprint(stderr, conformanceUsage)
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
	if cfg.Broker == "" {
		return usageError{"conformance: --broker host:port is required"}
	}
	var err error
	if cfg.AgentPassword, err = passwordOf(cfg.AgentPassword, *agentPWFile); err != nil {
		return err
	}
	if cfg.Password, err = passwordOf(cfg.Password, *pwFile); err != nil {
		return err
	}

	results := conformance.Run(ctx, cfg)
	failed := 0
	for _, r := range results {
		if r.Err != nil {
			failed++
		}
	}
	if asJSON {
		out := make([]result, len(results))
		for i, r := range results {
			out[i] = result{ID: r.ID, Title: r.Title, Cites: r.Cites, Pass: r.Err == nil}
			if r.Err != nil {
				out[i].Error = r.Err.Error()
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		width := 0
		for _, r := range results {
			width = max(width, len(r.ID))
		}
		for _, r := range results {
			if r.Err != nil {
				fmt.Fprintf(stdout, "FAIL %-*s  %s: %v\n", width, r.ID, r.Title, r.Err)
			} else {
				fmt.Fprintf(stdout, "PASS %-*s  %s\n", width, r.ID, r.Title)
			}
		}
		fmt.Fprintf(stdout, "%d passed, %d failed\n", len(results)-failed, failed)
	}
	if failed > 0 {
		return fmt.Errorf("conformance: %d of %d checks failed against %s", failed, len(results), cfg.Broker)
	}
	return nil
}
