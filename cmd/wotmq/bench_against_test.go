package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/loadtest"
)

// TestBenchAgainstTwoBrokersInTurns: --against runs every shape against
// each broker in turn, --rounds times, and the report puts them side by
// side with the first broker's ratios.
func TestBenchAgainstTwoBrokersInTurns(t *testing.T) {
	a, b := hubtest.StartMochi(t), hubtest.StartMochi(t)
	pid := os.Getpid()
	var out, errs bytes.Buffer
	err := run(context.Background(), []string{"bench",
		"--against", "first=raw@" + a + "#" + strconv.Itoa(pid), "--against", "second relay=raw@" + b + "#" + strconv.Itoa(pid),
		"--rounds", "2", "--scenarios", "q1:1->2,actions:1", "--payloads", "64",
		"--duration", "100ms", "--warmup", "50ms", "--json", "--quiet"}, &out, &errs)
	if err != nil {
		t.Fatalf("%v\n%s", err, errs.String())
	}
	var mx loadtest.Matrix
	if err := json.Unmarshal(out.Bytes(), &mx); err != nil {
		t.Fatalf("%v: %s", err, out.String())
	}
	var order []string
	for _, r := range mx.Runs {
		order = append(order, r.Label+"/"+strconv.Itoa(r.Round))
	}
	if got := strings.Join(order, " "); got != "first/1 second relay/1 second relay/2 first/2 first/1 second relay/1 second relay/2 first/2" {
		t.Fatalf("runs in the order %s", got)
	}
	res := filepath.Join(t.TempDir(), "runs.json")
	if err := os.WriteFile(res, out.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	var table bytes.Buffer
	if err := run(context.Background(), []string{"bench", "report", res}, &table, &errs); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"| shape | figure | first | second relay | first ÷ second | target | met |", "| **events q1 1->2 64 B** | msgs/s |", "| **actions 1** |"} {
		if !strings.Contains(table.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, table.String())
		}
	}
}
