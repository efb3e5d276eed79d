package wot_test

import (
	"context"
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// testTimeout bounds every wait of a test.
const testTimeout = 10 * time.Second

// startHub starts a hub (hubtest.Start) with its data in dir, MQTT over
// TCP on tcpAddr (127.0.0.1:0 when empty) and over WebSocket on
// 127.0.0.1:0.
func startHub(tb testing.TB, dir, tcpAddr string, mod ...func(*hub.Options)) *hub.Hub {
	tb.Helper()
	return hubtest.Start(tb, append([]func(*hub.Options){func(o *hub.Options) {
		o.DataDir, o.WSAddr = dir, "127.0.0.1:0"
		if tcpAddr != "" {
			o.TCPAddr = tcpAddr
		}
	}}, mod...)...)
}

// connect connects a client to the hub (hubtest.Connect); when the test
// ends it checks that no call was left in the correlator.
func connect(tb testing.TB, url, clientID string, mod ...func(*wot.Options)) *wot.Client {
	tb.Helper()
	c := hubtest.Connect(tb, url, clientID, mod...)
	tb.Cleanup(func() { // before the client closes
		if n := c.PendingCalls(); n != 0 {
			tb.Errorf("%s: %d calls left in the correlator", clientID, n)
		}
	})
	return c
}

// ctxT is a context bounded by testTimeout, cancelled when the test ends.
func ctxT(tb testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	tb.Cleanup(cancel)
	return ctx
}

const lampID = "urn:dev:ops:lamp-1"

func ptr[T any](v T) *T { return &v }

// lampTD is the test Thing: properties, an event, unsafe and safe actions.
func lampTD(id string) *td.Thing {
	pct := td.DataSchema{Type: td.TypeInteger, Minimum: ptr(0.0), Maximum: ptr(100.0)}
	return wot.NewThing(id, "Lamp").
		Description("a test lamp").
		Property("on", td.DataSchema{Type: td.TypeBoolean}).
		Property("brightness", pct).
		Property("model", td.DataSchema{Type: td.TypeString, ReadOnly: true}).
		Event("overheating", &td.DataSchema{Type: td.TypeNumber}).
		Action("toggle", nil, &td.DataSchema{Type: td.TypeBoolean}).
		Action("fade", &td.DataSchema{
			Type:       td.TypeObject,
			Properties: map[string]*td.DataSchema{"to": &pct},
			Required:   []string{"to"},
		}, &pct).
		SafeAction("echo", &td.DataSchema{Type: td.TypeInteger}, &td.DataSchema{Type: td.TypeInteger}).
		SafeAction("block", nil, nil).
		TD()
}

// lamp is an exposed test lamp with its handlers.
type lamp struct {
	*wot.ExposedThing
	mu         sync.Mutex
	on         bool
	brightness int
	release    chan struct{} // closing it ends every "block" invocation
	calls      map[string]int
}

// exposeLamp exposes a lamp Thing on c.
func exposeLamp(tb testing.TB, c *wot.Client, id string) *lamp {
	tb.Helper()
	e, err := c.Produce(lampTD(id))
	if err != nil {
		tb.Fatal(err)
	}
	l := &lamp{ExposedThing: e, brightness: 50, release: make(chan struct{}), calls: map[string]int{}}
	count := func(name string) {
		l.mu.Lock()
		l.calls[name]++
		l.mu.Unlock()
	}
	e.HandleAction("toggle", func(ctx context.Context, req *wot.Request) (any, error) {
		count("toggle")
		l.mu.Lock()
		defer l.mu.Unlock()
		l.on = !l.on
		return l.on, nil
	})
	e.HandleAction("fade", wot.ActionFunc(func(ctx context.Context, in struct{ To int }) (int, error) {
		count("fade")
		req := wot.RequestFromContext(ctx)
		for _, step := range []int{25, 75} {
			if err := req.Progress(ctx, step); err != nil {
				return 0, err
			}
		}
		l.mu.Lock()
		l.brightness = in.To
		l.mu.Unlock()
		return in.To, nil
	}))
	e.HandleAction("echo", wot.ActionFunc(func(ctx context.Context, in int) (int, error) {
		if in < 0 {
			return 0, wot.Errorf(wot.CodeBusy, "negative %d", in)
		}
		if in == 1<<30 {
			return 0, errors.New("unlucky")
		}
		return in, nil
	}))
	e.HandleAction("block", func(ctx context.Context, req *wot.Request) (any, error) {
		count("block")
		select {
		case <-l.release:
			return nil, nil
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	})
	e.HandleWrite("brightness", func(ctx context.Context, req *wot.Request) (any, error) {
		var v int
		if err := req.Decode(&v); err != nil {
			return nil, err
		}
		l.mu.Lock()
		l.brightness = v
		l.mu.Unlock()
		return nil, nil
	})
	e.HandleWrite("on", func(ctx context.Context, req *wot.Request) (any, error) {
		return nil, wot.Errorf(wot.CodeDenied, "the switch is locked")
	})
	if err := e.Expose(ctxT(tb)); err != nil {
		tb.Fatalf("expose %s: %v", id, err)
	}
	return l
}

func (l *lamp) count(name string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.calls[name]
}

// recv returns the next value from ch or fails the test after testTimeout.
func recv[T any](tb testing.TB, ch <-chan T, what string) T {
	tb.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(testTimeout):
		tb.Fatalf("%s: nothing within %v", what, testTimeout)
		panic("unreachable")
	}
}

// freePort reserves nothing: it returns the port of an address.
func portOf(tb testing.TB, addr string) string {
	tb.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		tb.Fatal(err)
	}
	return port
}
