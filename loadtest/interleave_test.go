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

func TestInterleaveTakesTurnsAndReportsMedians(t *testing.T) {
	a, b := hubtest.StartMochi(t), hubtest.StartMochi(t)
	pid := os.Getpid()
	brokers := []loadtest.Broker{{Label: "A", Target: loadtest.TargetRaw, Addr: a, Pid: pid}, {Label: "B relay", Target: loadtest.TargetRaw, Addr: b, Pid: pid}}
	var progress bytes.Buffer
	mx, err := loadtest.Interleave(context.Background(), loadtest.Config{
		Duration: 200 * time.Millisecond, Warmup: 50 * time.Millisecond, Count: 2000, Progress: &progress,
		Wait: 30 * time.Second, Timeout: time.Minute, Drain: 2 * time.Minute,
	}, brokers, []loadtest.Scenario{
		{Kind: loadtest.FanIn, Agents: 2, Consumers: 2, QoS: 1},
		{Kind: loadtest.Action, Concurrency: 1},
		{Kind: loadtest.Idle, Agents: 5},
	}, 2)
	if err != nil {
		t.Fatalf("%v\n%s", err, progress.String())
	}
	var order []string
	for _, r := range mx.Runs {
		order = append(order, r.Scenario+"/"+r.Label+"/"+string(rune('0'+r.Round)))
	}
	want := []string{
		"events q1 2->2 64 B/A/1", "events q1 2->2 64 B/B relay/1", "events q1 2->2 64 B/B relay/2", "events q1 2->2 64 B/A/2",
		"actions 1/A/1", "actions 1/B relay/1", "actions 1/B relay/2", "actions 1/A/2",
		"idle 5/A/1", "idle 5/B relay/1", "idle 5/B relay/2", "idle 5/A/2",
	}
	if strings.Join(order, " ") != strings.Join(want, " ") {
		t.Fatalf("order:\n%v\nwant\n%v", order, want)
	}
	for _, r := range mx.Runs {
		if r.Received == 0 || r.Drops != 0 || r.Errors != 0 {
			t.Errorf("%s %s round %d: received %d, lost %d, %d errors (%s)", r.Scenario, r.Label, r.Round, r.Received, r.Drops, r.Errors, r.FirstError)
		}
	}

	var doc bytes.Buffer
	if err := loadtest.WriteComparison(&doc, mx, loadtest.ThisMachine(), "a note"); err != nil {
		t.Fatal(err)
	}
	out := doc.String()
	for _, want := range []string{
		"| shape | figure | A | B relay | A ÷ B | target | met |",
		"| **events q1 2->2 64 B** | msgs/s |", "| ≥ 1.0x |", "|  | lost | 0 | 0 |  | 0 | yes |",
		"| **actions 1** | round trip p50 / p99 |", "| p50 ≤ 1.2x |",
		"| **idle 5** | RSS per connection |", "10 of 10", "2 rounds", "a note",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("comparison lacks %q:\n%s", want, out)
		}
	}
	if !strings.HasPrefix(out, loadtest.BeginMarker) || !strings.HasSuffix(out, loadtest.EndMarker+"\n") {
		t.Errorf("comparison not between the markers:\n%s", out)
	}
}

func TestQoS0EventsAreCounted(t *testing.T) {
	addr := hubtest.StartMochi(t)
	rep, err := loadtest.Run(context.Background(), loadtest.Config{
		Broker: addr, Target: loadtest.TargetRaw, Duration: 200 * time.Millisecond, Warmup: -1, Count: 3000,
		Wait: 30 * time.Second, Drain: time.Minute,
	}, []loadtest.Scenario{{Kind: loadtest.FanIn, Agents: 2, Consumers: 1}, {Kind: loadtest.FanOut, Consumers: 2}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rep.Results {
		// A relay may drop QoS 0 messages to a slow consumer: every
		// message sent is either received or counted as lost.
		if r.QoS != 0 || r.Sent == 0 || r.Expected != r.Sent*map[string]int64{"events q0 2->1 64 B": 1, "events q0 1->2 64 B": 2}[r.Scenario] ||
			r.Received+r.Drops != r.Expected || r.Errors != 0 {
			t.Errorf("%+v", r)
		}
	}
}

func TestParseBroker(t *testing.T) {
	b, err := loadtest.ParseBroker("Mosquitto 2 relay=raw@127.0.0.1:1884#42")
	if err != nil || b != (loadtest.Broker{Label: "Mosquitto 2 relay", Target: loadtest.TargetRaw, Addr: "127.0.0.1:1884", Pid: 42}) {
		t.Errorf("%+v, %v", b, err)
	}
	if b, err := loadtest.ParseBroker("hub=wotmq@[::1]:1883"); err != nil || b.Addr != "[::1]:1883" || b.Pid != 0 {
		t.Errorf("%+v, %v", b, err)
	}
	for _, bad := range []string{"", "x", "x=raw", "=raw@h:1", "x=nats@h:1", "x=raw@h:1#0", "x=raw@h:1#y"} {
		if _, err := loadtest.ParseBroker(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
