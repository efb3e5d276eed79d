package natsnode_test

import (
	"context"
	"errors"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/natsnode"
)

func TestNatsnodeStandaloneJetStream(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	n, err := natsnode.Start(ctx, natsnode.Options{Name: "solo", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	kv, err := n.JetStream().CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "T"})
	if err != nil {
		t.Fatal(err)
	}
	rev, err := kv.Create(ctx, "k", []byte("1"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := kv.Update(ctx, "k", []byte("2"), rev+7); err == nil {
		t.Fatal("update with a stale revision succeeded")
	}
	n.Close()

	// The data is in the node's directory: a restarted node has it.
	n, err = natsnode.Start(ctx, natsnode.Options{Name: "solo", DataDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	kv, err = n.JetStream().KeyValue(ctx, "T")
	if err != nil {
		t.Fatal(err)
	}
	e, err := kv.Get(ctx, "k")
	if err != nil || string(e.Value()) != "1" {
		t.Fatalf("after restart: %v %v", e, err)
	}
}

func TestNatsnodeRejectsBadOptions(t *testing.T) {
	for name, o := range map[string]natsnode.Options{
		"NoDataDir":        {Name: "a"},
		"RoutesNoCluster":  {Name: "a", DataDir: t.TempDir(), Routes: []string{"nats://127.0.0.1:1"}},
		"ClusterNoListen":  {Name: "a", DataDir: t.TempDir(), Cluster: "c"},
		"ClusterNoName":    {DataDir: t.TempDir(), Cluster: "c", ClusterListen: "127.0.0.1:0"},
		"RouteNotNATS":     {Name: "a", DataDir: t.TempDir(), Cluster: "c", ClusterListen: "127.0.0.1:0", Routes: []string{"http://x:1"}},
		"ClusterListenBad": {Name: "a", DataDir: t.TempDir(), Cluster: "c", ClusterListen: "127.0.0.1"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := natsnode.Start(context.Background(), o)
			if !errors.Is(err, natsnode.ErrOptions) {
				t.Fatalf("err = %v, want ErrOptions", err)
			}
		})
	}
}

// A listen address already taken is said at once, by name: the embedded
// server alone would log it and wait out ReadyTimeout without its route
// listener (the node then fails only with ErrNotUp).
func TestNatsnodeSaysAPortInUse(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	addr := taken.Addr().String()
	for name, o := range map[string]natsnode.Options{
		"ClusterListen": {Name: "a", DataDir: t.TempDir(), Cluster: "c", ClusterListen: addr, Routes: []string{"nats://127.0.0.1:1"}},
		"ClientListen":  {Name: "a", DataDir: t.TempDir(), ClientListen: addr},
	} {
		t.Run(name, func(t *testing.T) {
			o.ReadyTimeout = time.Second
			n, err := natsnode.Start(context.Background(), o)
			if err == nil {
				n.Close()
			}
			if !errors.Is(err, syscall.EADDRINUSE) || !strings.Contains(err.Error(), addr) {
				t.Fatalf("err = %v, want %s in use, by address", err, addr)
			}
		})
	}
}
