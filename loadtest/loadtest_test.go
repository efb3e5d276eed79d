package loadtest_test

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/loadtest"
)

// startHub starts a development hub (hubtest.Start) and returns its
// address.
func startHub(tb testing.TB) string {
	tb.Helper()
	return hubtest.Start(tb).MQTTAddr()
}

// The QoS 0 shapes are in TestQoS0EventsAreCounted: a relay may drop
// QoS 0 messages, this test wants none lost.
var scenarios = []loadtest.Scenario{
	{Kind: loadtest.FanIn, Agents: 3, Consumers: 2, QoS: 1},
	{Kind: loadtest.FanOut, Consumers: 3, QoS: 1, Payload: 1024},
	{Kind: loadtest.Action, Concurrency: 1},
	{Kind: loadtest.Action, Concurrency: 4},
	{Kind: loadtest.Idle, Agents: 20},
}

func TestScenariosRun(t *testing.T) {
	for _, tc := range []struct {
		name   string
		target loadtest.Target
		start  func(testing.TB) string
	}{
		{"WotmqHub", loadtest.TargetWotmq, startHub},
		{"RawThroughMochi", loadtest.TargetRaw, hubtest.StartMochi},
	} {
		t.Run(tc.name, func(t *testing.T) {
			addr := tc.start(t)
			var progress bytes.Buffer
			rep, err := loadtest.Run(context.Background(), loadtest.Config{
				Broker: addr, Target: tc.target, Duration: 300 * time.Millisecond, Warmup: 100 * time.Millisecond,
				Count: 5000, Pid: os.Getpid(), Progress: &progress,
				// A busy machine slows the run down, it does not lose
				// messages: wait for each reply and for every message to
				// arrive (the drain ends as soon as they have), with bounds
				// only a hang reaches.
				Wait: 30 * time.Second, Timeout: time.Minute, Drain: 2 * time.Minute,
			}, scenarios)
			if err != nil {
				t.Fatalf("%v\n%s", err, progress.String())
			}
			if rep.LoadAvg[0] == "" || rep.LoadAvg[1] == "" {
				t.Errorf("load average before and after: %q", rep.LoadAvg)
			}
			if len(rep.Results) != len(scenarios) {
				t.Fatalf("%d results for %d scenarios", len(rep.Results), len(scenarios))
			}
			for _, r := range rep.Results {
				if r.Sent == 0 || r.Received == 0 || (r.Rate <= 0) != (r.Kind == loadtest.Idle) {
					t.Errorf("%s: sent %d received %d rate %.0f", r.Scenario, r.Sent, r.Received, r.Rate)
				}
				if r.Drops != 0 || r.Errors != 0 {
					t.Errorf("%s: %d drops, %d errors (%s)", r.Scenario, r.Drops, r.Errors, r.FirstError)
				}
				if r.Latency.P50 <= 0 || r.Latency.P50 > r.Latency.P99 || r.Latency.P99 > r.Latency.Max {
					t.Errorf("%s: latency %+v", r.Scenario, r.Latency)
				}
				if r.RSS <= 0 || r.CPU < 0 {
					t.Errorf("%s: broker RSS %d CPU %.0f", r.Scenario, r.RSS, r.CPU)
				}
				if (r.Kind == loadtest.Idle) != (r.CPUPerMsg < 0) || r.LoadAvg == "" {
					t.Errorf("%s: CPU per message %.1f µs, load average %q", r.Scenario, r.CPUPerMsg, r.LoadAvg)
				}
				if r.Kind == loadtest.Idle && (r.Conns != 20 || r.Received != 20 || r.RSSBefore <= 0) {
					t.Errorf("%s: %d connections, %d of 20 pings answered, RSS before %d", r.Scenario, r.Conns, r.Received, r.RSSBefore)
				}
			}
			var out bytes.Buffer
			if err := loadtest.WriteTable(&out, rep); err != nil {
				t.Fatal(err)
			}
			t.Logf("\n%s", out.String())
		})
	}
}

func TestCountEndsTheMeasurement(t *testing.T) {
	addr := hubtest.StartMochi(t)
	start := time.Now()
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Broker: addr, Target: loadtest.TargetRaw, Duration: time.Minute, Warmup: -1, Count: 200,
	}, []loadtest.Scenario{{Kind: loadtest.FanIn, Agents: 2, Consumers: 1, QoS: 1}, {Kind: loadtest.Action, Concurrency: 2}})
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) > 30*time.Second {
		t.Fatalf("took %v: the count did not end the measurement", time.Since(start))
	}
	for _, r := range rep.Results {
		// Sent also counts what the senders sent before the measurement
		// began (without a warm-up: what they sent while it started);
		// without the count a minute of load would send far more.
		if r.Sent < 200 || r.Sent > 2000 || r.Received != r.Expected {
			t.Errorf("%s: sent %d, received %d of %d", r.Scenario, r.Sent, r.Received, r.Expected)
		}
	}
}

func TestRefusedSetupFails(t *testing.T) {
	addr := startHub(t)
	// Keep: the first run leaves its Things registered to agent-one.
	cfg := loadtest.Config{Broker: addr, Username: "agent-one", Duration: 100 * time.Millisecond, Warmup: -1, Keep: true}
	fanOut := []loadtest.Scenario{{Kind: loadtest.FanOut, Consumers: 1}}
	if _, err := loadtest.Run(context.Background(), cfg, fanOut); err != nil {
		t.Fatal(err)
	}
	// The same Thing IDs, now registered by another agent: refused.
	cfg.Username = "agent-two"
	_, err := loadtest.Run(context.Background(), cfg, fanOut)
	if err == nil || !strings.Contains(err.Error(), "denied") {
		t.Fatalf("registering another agent's Thing: %v", err)
	}
}

func TestUnknownTargetAndScenario(t *testing.T) {
	if _, err := loadtest.Run(context.Background(), loadtest.Config{Broker: "127.0.0.1:1", Target: "nats"}, nil); err == nil {
		t.Error("unknown target accepted")
	}
	if _, err := loadtest.Run(context.Background(), loadtest.Config{Broker: "127.0.0.1:1"}, []loadtest.Scenario{{Kind: "storm"}}); err == nil {
		t.Error("unknown scenario accepted")
	}
}

func TestSpliceReplacesOnlyBetweenMarkers(t *testing.T) {
	section := []byte(loadtest.BeginMarker + "\nnew table\n" + loadtest.EndMarker + "\n")
	doc := []byte("# Benchmarks\n\nintro\n\n" + loadtest.BeginMarker + "\nold table\n" + loadtest.EndMarker + "\n\n## Soak\n\nsoak text\n")
	got := string(loadtest.Splice(doc, section))
	want := "# Benchmarks\n\nintro\n\n" + string(section) + "\n## Soak\n\nsoak text\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
	if got := string(loadtest.Splice(nil, section)); !strings.HasPrefix(got, "# Benchmarks\n\n"+loadtest.BeginMarker) {
		t.Errorf("empty doc: got %q", got)
	}
	appended := string(loadtest.Splice([]byte("# Benchmarks\n\n## Soak\n"), section))
	if !strings.HasSuffix(appended, "## Soak\n\n"+string(section)) {
		t.Errorf("doc without markers: got %q", appended)
	}
}
