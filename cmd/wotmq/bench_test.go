package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/loadtest"
)

func TestBenchAgainstAHubAndReport(t *testing.T) {
	m := &Main{LogOutput: io.Discard}
	m.Options.TCPAddr, m.Options.WSAddr, m.Options.HTTPAddr = "127.0.0.1:0", "off", "off"
	m.Options.DataDir, m.Options.Dev = t.TempDir(), true
	if err := m.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer m.Close()

	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"bench", "--broker", m.Hub.MQTTAddr(), "--scenarios", "q1:2->1,actions:1,actions:2,idle:10",
		"--payloads", "64", "--duration", "200ms", "--warmup", "50ms", "--label", "hub", "--json", "--quiet"}, &out, &errs)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	var rep loadtest.Matrix
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	if len(rep.Brokers) != 1 || rep.Brokers[0].Label != "hub" || len(rep.Runs) != 4 {
		t.Fatalf("report: %+v", rep)
	}
	for _, r := range rep.Runs {
		if r.Received == 0 || r.Drops != 0 || r.Errors != 0 {
			t.Errorf("%s: received %d, %d drops, %d errors (%s)", r.Scenario, r.Received, r.Drops, r.Errors, r.FirstError)
		}
	}

	dir := t.TempDir()
	res, doc := filepath.Join(dir, "hub.json"), filepath.Join(dir, "benchmarks.md")
	if err := os.WriteFile(res, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(doc, []byte("# Benchmarks\n\n## Soak\n\nkept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second run replaces the first's section
		if err := run(context.Background(), []string{"bench", "report", "--doc", doc, res}, &out, &errs); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(doc)
	if got := string(b); strings.Count(got, loadtest.BeginMarker) != 1 || !strings.Contains(got, "## Soak\n\nkept\n") ||
		!strings.Contains(got, "| **actions 2** | round trip p50 / p99 |") {
		t.Errorf("doc:\n%s", got)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"bench"},
		{"bench", "--broker", "127.0.0.1:1", "--target", "amqp"},
		{"bench", "--broker", "127.0.0.1:1", "--scenarios", "storm"},
		{"bench", "--broker", "127.0.0.1:1", "--scenarios", "actions:0"},
		{"bench", "--broker", "127.0.0.1:1", "--scenarios", "q2:1->1"},
		{"bench", "--broker", "127.0.0.1:1", "--payloads", "0"},
		{"bench", "--broker", "127.0.0.1:1", "--against", "x=raw@127.0.0.1:2"},
		{"bench", "--against", "x=amqp@127.0.0.1:2"},
		{"bench", "report"},
	} {
		err := run(context.Background(), args, io.Discard, io.Discard)
		if _, ok := err.(usageError); !ok {
			t.Errorf("%v: %v, want a usage error", args, err)
		}
	}
}
