package reliability

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// evidenceClient is a Go SDK client of the evidence cluster given every
// node's URL (wot.Options.URLs): the issue's "the SDK takes a list of
// server URLs".
type evidenceClient struct {
	c   *wot.Client
	ups atomic.Int32 // connections made, the first included
}

// evidenceSDK connects the viewer account's SDK client to first, with the
// others as further URLs.
func evidenceSDK(t *testing.T, first *clusterNodeProc, others []*clusterNodeProc) *evidenceClient {
	t.Helper()
	e := &evidenceClient{}
	var urls []string
	for _, n := range others {
		urls = append(urls, "mqtt://"+n.mqtt)
	}
	e.c = hubtest.Connect(t, "mqtt://"+first.mqtt, "sdk-watcher", func(o *wot.Options) {
		o.URLs = urls
		o.Username, o.Password = "watcher", evidencePassword
		o.OnConnect = func() { e.ups.Add(1) }
	})
	hubtest.WaitFor(t, "the SDK client connected", func() bool { return e.ups.Load() >= 1 })
	return e
}

// moved checks that the client, whose node was killed, connected again
// (to another node: the first is gone) and reads property p of
// urn:evidence:0 there.
func (e *evidenceClient) moved(t *testing.T) {
	t.Helper()
	hubtest.WaitFor(t, "the SDK client on another node", func() bool { return e.ups.Load() >= 2 })
	ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
	defer cancel()
	thing, err := e.c.Thing(ctx, "urn:evidence:0")
	if err != nil {
		t.Fatalf("step 5: the SDK client after the kill: %v", err)
	}
	var p int
	if err := thing.ReadProperty(ctx, "p", &p); err != nil || p != 42 {
		t.Fatalf("step 5: the SDK client read p = %d (%v), want 42", p, err)
	}
}
