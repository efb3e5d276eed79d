package wot_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

func TestInvokeAction(t *testing.T) {
	f := setup(t)
	l, lampT := f.lamp, f.thing
	ctx := ctxT(t)

	t.Run("Output", func(t *testing.T) {
		var to int
		if err := lampT.InvokeAction(ctx, "fade", map[string]int{"to": 30}, &to); err != nil || to != 30 {
			t.Fatalf("fade = %d, %v", to, err)
		}
		var on bool
		if err := lampT.InvokeAction(ctx, "toggle", nil, &on); err != nil || !on {
			t.Fatalf("toggle = %v, %v", on, err)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		tests := []struct {
			name, action string
			input        any
			kind         error
			code         wot.Code
		}{
			{"UnknownActionInTD", "explode", nil, wot.ErrNotFound, wot.CodeUnknownAffordance},
			{"InputRefusedByHub", "fade", map[string]int{"to": 101}, wot.ErrInvalidInput, wot.CodeInvalidPayload},
			{"InputMissing", "echo", nil, wot.ErrInvalidInput, wot.CodeInvalidPayload},
			{"WireErrorFromHandler", "echo", -1, wot.ErrBusy, wot.CodeBusy},
			{"PlainErrorFromHandler", "echo", 1 << 30, wot.ErrAgent, wot.CodeAgentError},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := lampT.InvokeAction(ctx, tt.action, tt.input, nil)
				var we *wot.Error
				if !errors.Is(err, tt.kind) || !errors.As(err, &we) || we.Code != tt.code {
					t.Fatalf("err = %v, want %v (%s)", err, tt.kind, tt.code)
				}
				if !errors.Is(err, &wot.Error{Code: tt.code}) {
					t.Errorf("errors.Is(err, &wot.Error{Code: %s}) is false", tt.code)
				}
			})
		}
	})
	t.Run("Async", func(t *testing.T) {
		inv, err := lampT.InvokeActionAsync(ctx, "fade", map[string]int{"to": 60})
		if err != nil {
			t.Fatal(err)
		}
		var seq []string
		for u := range inv.Updates() {
			seq = append(seq, string(u.Status)+":"+string(u.Payload))
			if u.ActionID == "" || u.Time.IsZero() {
				t.Errorf("update %+v", u)
			}
		}
		want := "[delivered: running:25 running:75 completed:60]"
		if fmt.Sprint(seq) != want {
			t.Errorf("statuses %v, want %s", seq, want)
		}
		var out int
		if err := inv.Wait(ctx, &out); err != nil || out != 60 {
			t.Errorf("Wait = %d, %v", out, err)
		}
		// The hub updates the retained status just after it sent the
		// outcome.
		var st *wot.ActionStatus
		hubtest.WaitFor(t, "status record completed", func() bool {
			st, err = lampT.QueryAction(ctx, "fade")
			return err == nil && st.Status == wot.StatusCompleted
		})
		if st.ID != inv.ActionID() || string(st.Output) != "60" || st.Sender != "app" {
			t.Errorf("QueryAction = %+v", st)
		}
	})
	t.Run("AsyncRefused", func(t *testing.T) {
		if _, err := lampT.InvokeActionAsync(ctx, "fade", map[string]int{"to": -1}); !errors.Is(err, wot.ErrInvalidInput) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("QueryNeverInvoked", func(t *testing.T) {
		if _, err := lampT.QueryAction(ctx, "block"); !errors.Is(err, wot.ErrNoValue) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("Emit", func(t *testing.T) {
		before := l.count("toggle")
		if err := lampT.Emit(ctx, "toggle", nil); err != nil {
			t.Fatal(err)
		}
		hubtest.WaitFor(t, "the agent ran the emitted toggle", func() bool { return l.count("toggle") == before+1 })
	})
}

// TestTimeoutFreesCorrelator checks that calls that time out leave nothing
// behind, and that their late replies are dropped.
func TestTimeoutFreesCorrelator(t *testing.T) {
	f := setup(t)
	l, app, lampT := f.lamp, f.app, f.thing
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			defer cancel()
			errs <- lampT.InvokeAction(ctx, "block", nil, nil)
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if !errors.Is(err, wot.ErrTimeout) || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v", err)
		}
	}
	if n := app.PendingCalls(); n != 0 {
		t.Fatalf("%d calls left after timeouts", n)
	}
	t.Run("DefaultTimeout", func(t *testing.T) {
		short := connect(t, hubtest.URL(f.hub), "short", func(o *wot.Options) { o.Timeout = 100 * time.Millisecond })
		th := short.Consume(lampT.TD())
		start := time.Now()
		err := th.InvokeAction(context.Background(), "block", nil, nil)
		if !errors.Is(err, wot.ErrTimeout) || time.Since(start) > testTimeout {
			t.Fatalf("err = %v after %v", err, time.Since(start))
		}
		inv, err := th.InvokeActionAsync(context.Background(), "block", nil)
		if err != nil {
			t.Fatal(err)
		}
		var last wot.ActionUpdate
		for u := range inv.Updates() {
			last = u
		}
		if last.Status != wot.StatusFailed || !errors.Is(last.Err, wot.ErrTimeout) {
			t.Fatalf("last update %+v", last)
		}
		if short.PendingCalls() != 0 {
			t.Fatalf("%d calls left", short.PendingCalls())
		}
	})
	t.Run("CancelledContext", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- lampT.InvokeAction(ctx, "block", nil, nil) }()
		hubtest.WaitFor(t, "request handed to the agent", func() bool { return app.PendingCalls() == 1 && l.count("block") > n })
		cancel()
		if err := recv(t, done, "cancelled call"); !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
		if app.PendingCalls() != 0 {
			t.Fatalf("%d calls left", app.PendingCalls())
		}
	})
	// Let the blocked handlers answer: the replies find no call and are
	// counted as late, not delivered anywhere.
	close(l.release)
	hubtest.WaitFor(t, "late replies", func() bool { return app.LateReplies() > 0 })
}

// TestConcurrentInvocations makes 10,000 InvokeAction calls at once from
// one client and checks that every one gets its own outcome. The calls go
// to Things of four agents: the hub's cost per request grows with the
// depth of the agent's queue (see the report in TestConcurrentInvocations'
// log), and one consumer's correlator is what is under test.
func TestConcurrentInvocations(t *testing.T) {
	n, agents := 10000, 4
	if testing.Short() {
		n = 1000
	}
	h := startHub(t, t.TempDir(), "", func(o *hub.Options) { o.MaxQueue = n })
	app := connect(t, hubtest.URL(h), "app")
	things := make([]*wot.ConsumedThing, agents)
	for i := range agents {
		id := fmt.Sprintf("urn:dev:ops:lamp-%d", i)
		exposeLamp(t, connect(t, hubtest.URL(h), fmt.Sprintf("agent-%d", i)), id)
		th, err := app.Thing(ctxT(t), id)
		if err != nil {
			t.Fatal(err)
		}
		things[i] = th
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var failed, wrong atomic.Int64
	firstErr := make(chan error, 1)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var out json.RawMessage
			if err := things[i%agents].InvokeAction(ctx, "echo", i, &out); err != nil {
				failed.Add(1)
				select {
				case firstErr <- err:
				default:
				}
				return
			}
			if string(out) != fmt.Sprint(i) {
				wrong.Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	t.Logf("%d concurrent InvokeAction calls to %d agents: %v (%.0f/s), %d failed, %d wrong outputs",
		n, agents, elapsed.Round(time.Millisecond), float64(n)/elapsed.Seconds(), failed.Load(), wrong.Load())
	if failed.Load() > 0 {
		t.Errorf("%d of %d calls failed; first: %v", failed.Load(), n, <-firstErr)
	}
	if wrong.Load() > 0 {
		t.Errorf("%d of %d calls got another call's output", wrong.Load(), n)
	}
	if app.PendingCalls() != 0 {
		t.Errorf("%d calls left in the correlator", app.PendingCalls())
	}
}
