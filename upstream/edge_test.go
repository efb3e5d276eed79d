package upstream_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// edgeLink is the network between an edge hub and its cloud hub: a
// loopback TCP proxy the test can cut (every connection through it is
// closed, and new ones are closed as they come) and restore.
type edgeLink struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

func startEdgeLink(t testing.TB, target string) *edgeLink {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &edgeLink{ln: ln, target: target, conns: map[net.Conn]bool{}}
	l.wg.Add(1)
	go l.accept()
	t.Cleanup(func() {
		ln.Close()
		l.Cut()
		l.wg.Wait()
	})
	return l
}

func (l *edgeLink) URL() string { return "mqtt://" + l.ln.Addr().String() }

func (l *edgeLink) accept() {
	defer l.wg.Done()
	for {
		in, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		cut := l.cut
		l.mu.Unlock()
		if cut {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", l.target)
		if err != nil {
			in.Close()
			continue
		}
		l.mu.Lock()
		l.conns[in], l.conns[out] = true, true
		l.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			defer l.wg.Done()
			_, _ = io.Copy(dst, src)
			dst.Close()
			src.Close()
		}
		l.wg.Add(2)
		go pipe(in, out)
		go pipe(out, in)
	}
}

// Cut closes every connection through the link and refuses new ones.
func (l *edgeLink) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for c := range l.conns {
		c.Close()
	}
	clear(l.conns)
}

// Restore lets connections through again.
func (l *edgeLink) Restore() {
	l.mu.Lock()
	l.cut = false
	l.mu.Unlock()
}

// edgeMetric reads one sample of an edge hub's /metrics.
func edgeMetric(t testing.TB, h *hub.Hub, name string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + h.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatal(err)
			}
			return f
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

const (
	edgeLamp    = "urn:site1:lamp"       // exported by the pattern
	edgeSensor  = "urn:elsewhere:sensor" // exported by its TD member
	edgePrivate = "urn:site1:private"    // matches the pattern, its TD says no
)

func edgeThings() []*td.Thing {
	integer := &td.DataSchema{Type: "integer"}
	lamp := wot.NewThing(edgeLamp, "Lamp").
		Event("tick", integer).
		Property("level", td.DataSchema{Type: "integer"}).
		Action("toggle", nil, &td.DataSchema{Type: "string"}).TD()
	sensor := wot.NewThing(edgeSensor, "Sensor").Event("reading", integer).TD()
	sensor.Extra = map[string]json.RawMessage{"wotmq:export": json.RawMessage("true")}
	private := wot.NewThing(edgePrivate, "Private").Event("tick", integer).TD()
	private.Extra = map[string]json.RawMessage{"wotmq:export": json.RawMessage("false")}
	return []*td.Thing{lamp, sensor, private}
}

// startEdgeDevice connects the agent of the edge's Things and exposes
// them; toggle answers "toggled", writes of level are applied.
func startEdgeDevice(t *testing.T, edge *hub.Hub, clientID string) (*wot.Client, map[string]*wot.ExposedThing) {
	t.Helper()
	c := hubtest.Connect(t, hubtest.URL(edge), clientID, func(o *wot.Options) { o.Username = "device" })
	out := map[string]*wot.ExposedThing{}
	ctx := context.Background()
	for _, thing := range edgeThings() {
		et, err := c.Produce(thing)
		if err != nil {
			t.Fatal(err)
		}
		if thing.ID == edgeLamp {
			et.HandleAction("toggle", func(ctx context.Context, req *wot.Request) (any, error) { return "toggled", nil })
			et.HandleWrite("level", func(ctx context.Context, req *wot.Request) (any, error) { return nil, nil })
		}
		if err := et.Expose(ctx); err != nil {
			t.Fatal(err)
		}
		out[thing.ID] = et
	}
	return c, out
}

// TestEdgeToCloudThroughOutage is the edge/cloud evidence of issue 19: two
// real hubs, the edge an agent of the cloud through a link the test cuts.
// During the outage the edge's device emits events, the edge restarts and
// the device goes offline, and a cloud consumer invokes an action and
// writes a property. When the link returns: the cloud's history equals
// the edge's (nothing lost, in order, no duplicates, the edge's times),
// the requests waited at the edge for the device and their statuses
// reached the cloud consumer, and the restarted edge went on from its
// saved position (it forwarded only what the outage produced).
func TestEdgeToCloudThroughOutage(t *testing.T) {
	ctx := context.Background()
	cloud := hubtest.Start(t, func(o *hub.Options) {
		o.Dev = false
		o.AdminPassword = "admin-password-1"
		o.PasswordCost = 4
	})
	for _, a := range []struct {
		id   string
		role authz.Role
	}{{"edge-site1", authz.RoleAgent}, {"alice", authz.RoleManager}} {
		if err := cloud.Accounts().Add(ctx, a.id, a.role, a.id, a.id+"-password-1"); err != nil {
			t.Fatal(err)
		}
	}
	link := startEdgeLink(t, cloud.MQTTAddr())
	edgeDir := t.TempDir()
	edgeOpts := func(o *hub.Options) {
		o.DataDir = edgeDir
		o.MetricsAddr = "127.0.0.1:0"
		o.Upstream = hub.Upstream{URL: link.URL(), Username: "edge-site1", Password: "edge-site1-password-1",
			Things: []string{"urn:site1:*"}, MaxBackoff: 100 * time.Millisecond}
	}
	edge := hubtest.Start(t, edgeOpts)
	deviceClient, device := startEdgeDevice(t, edge, "device-1")
	lamp, sensor := device[edgeLamp], device[edgeSensor]

	alice := hubtest.Connect(t, hubtest.URL(cloud), "alice-app", func(o *wot.Options) { o.Username, o.Password = "alice", "alice-password-1" })
	var cloudLamp *wot.ConsumedThing
	hubtest.WaitFor(t, "the lamp registered at the cloud", func() bool {
		var err error
		cloudLamp, err = alice.Thing(ctx, edgeLamp)
		return err == nil
	})

	emit := func(et *wot.ExposedThing, name string, from, to int) {
		t.Helper()
		for i := from; i <= to; i++ {
			if err := et.PublishEvent(ctx, name, i); err != nil {
				t.Fatal(err)
			}
		}
	}
	emit(lamp, "tick", 1, 3)
	emit(sensor, "reading", 1, 2)
	hubtest.WaitFor(t, "the edge's backlog forwarded", func() bool {
		return edgeMetric(t, edge, "wotmq_upstream_backlog_records") == 0 && edgeMetric(t, edge, "wotmq_upstream_forwarded_total") > 0
	})
	cutAt := time.Now()

	// The outage: events at the edge, the device leaves, the edge
	// restarts, the cloud asks for things.
	var presMu sync.Mutex
	var pres wot.PresenceState
	if _, err := cloudLamp.ObservePresence(ctx, func(s wot.PresenceState) { presMu.Lock(); pres = s; presMu.Unlock() }); err != nil {
		t.Fatal(err)
	}
	link.Cut()
	hubtest.WaitFor(t, "the cloud sees the edge gone", func() bool {
		presMu.Lock()
		defer presMu.Unlock()
		return pres.State == wot.PresenceLost
	})
	emit(lamp, "tick", 4, 40)
	emit(sensor, "reading", 3, 12)
	if err := deviceClient.Close(ctx); err != nil {
		t.Fatal(err)
	}
	edgeAddr := edge.MQTTAddr()
	if err := edge.Close(); err != nil {
		t.Fatal(err)
	}
	edge = hubtest.Start(t, edgeOpts, func(o *hub.Options) { o.TCPAddr = edgeAddr })

	long, cancel := context.WithTimeout(ctx, hubtest.Timeout)
	defer cancel()
	toggle, err := cloudLamp.InvokeActionAsync(long, "toggle", nil)
	if err != nil {
		t.Fatal(err)
	}
	var statuses []wot.Status
	var toggled string
	toggleDone := make(chan error, 1)
	waiting := make(chan struct{})
	go func() {
		for u := range toggle.Updates() {
			statuses = append(statuses, u.Status)
			if u.Status == wot.StatusWaiting && len(statuses) == 3 {
				close(waiting)
			}
		}
		toggleDone <- toggle.Wait(ctx, &toggled)
	}()
	writeDone := make(chan error, 1)
	go func() { writeDone <- cloudLamp.WriteProperty(long, "level", 7) }()

	// The link returns with the device still away: the requests reach the
	// edge and wait there.
	link.Restore()
	select { // pending, delivered (to the edge), waiting (at the edge, for the device)
	case <-waiting:
	case <-toggleDone:
		t.Fatalf("the toggle ended before it waited at the edge: %v", statuses)
	case <-long.Done():
		t.Fatal("the toggle never waited at the edge")
	}
	_, device = startEdgeDevice(t, edge, "device-1")
	if err := <-toggleDone; err != nil || toggled != "toggled" {
		t.Fatalf("toggle at the cloud: %v %q", err, toggled)
	}
	if err := <-writeDone; err != nil {
		t.Fatalf("write at the cloud: %v", err)
	}
	want := []wot.Status{wot.StatusPending, wot.StatusDelivered, wot.StatusWaiting, wot.StatusCompleted}
	if strings.Join(statusNames(statuses), " ") != strings.Join(statusNames(want), " ") {
		t.Errorf("the cloud consumer saw %v, want %v", statuses, want)
	}
	emit(device[edgeLamp], "tick", 41, 42) // after the outage, as usual

	edgeClient := hubtest.Connect(t, hubtest.URL(edge), "edge-reader")
	for _, c := range []struct{ thing, event string }{{edgeLamp, "tick"}, {edgeSensor, "reading"}} {
		edgeThing, err := edgeClient.Thing(ctx, c.thing)
		if err != nil {
			t.Fatal(err)
		}
		cloudThing, err := alice.Thing(ctx, c.thing)
		if err != nil {
			t.Fatal(err)
		}
		edgeItems := edgeHistory(t, edgeThing, c.event)
		var cloudItems []wot.HistoryItem
		hubtest.WaitFor(t, c.thing+" caught up at the cloud", func() bool {
			cloudItems = edgeHistory(t, cloudThing, c.event)
			return len(cloudItems) >= len(edgeItems)
		})
		if len(cloudItems) != len(edgeItems) {
			t.Fatalf("%s: the cloud holds %d %s events, the edge %d", c.thing, len(cloudItems), c.event, len(edgeItems))
		}
		for i := range edgeItems {
			e, cl := edgeItems[i], cloudItems[i]
			if string(e.Value) != string(cl.Value) || !e.Time.Equal(cl.Time) || cl.Sender != "edge-site1" {
				t.Errorf("%s event %d: cloud %s at %v by %s, edge %s at %v", c.thing, i, cl.Value, cl.Time, cl.Sender, e.Value, e.Time)
			}
		}
	}
	var level int
	hubtest.WaitFor(t, "the written level reported at the cloud", func() bool {
		return cloudLamp.ReadProperty(ctx, "level", &level) == nil && level == 7
	})
	things, err := alice.Things(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, th := range things {
		if th.ID == edgePrivate {
			t.Errorf("%s was exported although its TD says wotmq:export false", edgePrivate)
		}
	}

	// The restarted edge forwarded exactly what came after its saved
	// position, the last record before the cut: starting from scratch it
	// would have sent the records before the cut again.
	hubtest.WaitFor(t, "the backlog forwarded", func() bool { return edgeMetric(t, edge, "wotmq_upstream_backlog_records") == 0 })
	after := 0
	for _, id := range []string{edgeLamp, edgeSensor} {
		th, err := edgeClient.Thing(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range edgeHistory(t, th, "") {
			if it.Time.After(cutAt) {
				after++
			}
		}
	}
	if got := edgeMetric(t, edge, "wotmq_upstream_forwarded_total"); int(got) != after {
		t.Errorf("the restarted edge forwarded %v records, the edge holds %d after the cut", got, after)
	}
	if got := edgeMetric(t, edge, "wotmq_upstream_refused_total"); got != 0 {
		t.Errorf("the cloud refused %v records", got)
	}
}

func statusNames(s []wot.Status) []string {
	out := make([]string, len(s))
	for i, st := range s {
		out[i] = string(st)
	}
	return out
}

// edgeHistory reads the whole history of one event ("" for every event and
// property) of a Thing.
func edgeHistory(t *testing.T, th *wot.ConsumedThing, event string) []wot.HistoryItem {
	t.Helper()
	ctx := context.Background()
	var items []wot.HistoryItem
	q := wot.HistoryQuery{Limit: 1000}
	for {
		var page *wot.HistoryPage
		var err error
		if event == "" {
			page, err = th.History(ctx, q)
		} else {
			page, err = th.EventHistory(ctx, event, q)
		}
		if err != nil {
			t.Fatal(err)
		}
		items = append(items, page.Items...)
		if page.Next == "" {
			return items
		}
		q.Cursor = page.Next
	}
}
