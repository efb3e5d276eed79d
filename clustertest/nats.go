package clustertest

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/natsnode"
)

// natsChildEnv, when set to a JSON natsnode.Options, makes a test binary
// that calls RunNATSChildIfAsked in its TestMain an embedded NATS node.
const natsChildEnv = "WOTMQ_CLUSTERTEST_NATS_CHILD"

// natsReady is the line a NATS child prints once it serves.
const natsReady = "natsnode ready"

// RunNATSChildIfAsked turns the test binary into a NATS node when a
// NATSTrio started it: it never returns then (the node runs until it is
// killed). Call it first in TestMain.
func RunNATSChildIfAsked() {
	spec := os.Getenv(natsChildEnv)
	if spec == "" {
		return
	}
	var o natsnode.Options
	if err := json.Unmarshal([]byte(spec), &o); err != nil {
		fmt.Fprintln(os.Stderr, "bad child spec:", err)
		os.Exit(2)
	}
	log := zerolog.New(os.Stderr).With().Timestamp().Str("node", o.Name).Logger()
	o.Log = &log
	if _, err := natsnode.Start(context.Background(), o); err != nil {
		fmt.Fprintln(os.Stderr, "start:", err)
		os.Exit(1)
	}
	fmt.Println(natsReady)
	select {}
}

// NATSTrio is three embedded NATS nodes, n0, n1 and n2, as child processes
// of the test binary (whose TestMain calls RunNATSChildIfAsked), clustered
// on loopback, each with its own data directory.
type NATSTrio struct {
	Procs []*Proc
	// URLs are the nodes' client URLs, by node.
	URLs []string
}

// StartNATSTrio starts the three nodes and returns once each serves
// (JetStream's meta leader may still be being elected).
func StartNATSTrio(t testing.TB) *NATSTrio {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ports := FreePorts(t, 6)
	tr := &NATSTrio{}
	for i := range 3 {
		o := natsnode.Options{Name: fmt.Sprintf("n%d", i), DataDir: t.TempDir(), Cluster: "clustertest",
			ClusterListen: Addr(ports[i]), ClientListen: Addr(ports[3+i])}
		for j := range 3 {
			if j != i {
				o.Routes = append(o.Routes, "nats://"+Addr(ports[j]))
			}
		}
		spec, _ := json.Marshal(o)
		tr.Procs = append(tr.Procs, Start(t, o.Name, exe, []string{natsChildEnv + "=" + string(spec)}, "", "-test.run=^$"))
		tr.URLs = append(tr.URLs, "nats://"+Addr(ports[3+i]))
	}
	WaitLineAll(t, tr.Procs, natsReady, StartTimeout)
	return tr
}

// Restart restarts node i on its data directory after a Kill.
func (tr *NATSTrio) Restart(i int) { tr.Procs[i].Restart(natsReady) }

// URL is every node's client URL, for a client that fails over.
func (tr *NATSTrio) URL() string { return strings.Join(tr.URLs, ",") }

// WaitFor polls cond every 50 ms until it returns nil, up to 60 s: leader
// elections on a busy two-core machine take seconds.
func WaitFor(t testing.TB, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond) // polling interval, not a wait for an event
	}
}
