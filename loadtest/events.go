package loadtest

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/eclipse/paho.golang/paho"
)

// runEvents runs FanIn, FanOut and Idle: agents publish events, consumers
// receive every one of them.
func (r *runner) runEvents(ctx context.Context, s Scenario) (Result, error) {
	agents, consumers := s.Agents, s.Consumers
	if s.Kind == FanOut {
		agents = 1
	}
	tag := map[Kind]string{FanIn: "in", FanOut: "out", Idle: "idle"}[s.Kind] + strconv.Itoa(agents) + "x" + strconv.Itoa(consumers)
	thingID := func(i int) string { return r.name(tag + "-t" + strconv.Itoa(i)) }
	m := newMeter(r.cfg.Count)

	// Every delivery returns a credit to the window once each consumer
	// has received the event (FanIn, FanOut).
	windowed := s.Kind != Idle
	credits := make(chan struct{}, r.cfg.Window)
	var deliveries atomic.Int64
	release := func() {
		if windowed && deliveries.Add(1)%int64(consumers) == 0 {
			select {
			case <-credits:
			default:
			}
		}
	}
	// Consumers ignore events of other runs' Things.
	ours := r.sh.eventFilter(r.name(tag + "-t"))
	ours = ours[:strings.Index(ours, "/events/")]
	onEvent := func(p *paho.Publish) {
		if !strings.HasPrefix(p.Topic, ours) {
			return
		}
		ts, measured, ok := parseEvent(p.Payload)
		if !ok {
			m.fail(fmt.Errorf("event on %s: unexpected payload %.80q", p.Topic, p.Payload))
			return
		}
		if measured {
			now := r.now()
			m.lat.Record(time.Duration(now - ts))
			m.received.Add(1)
			m.lastRecv.Store(now)
		}
		release()
	}

	// Fan-in consumers subscribe to every Thing with a wildcard; idle
	// consumers share the Things, each subscribing to its own: one MQTT
	// client receives at most about 10,000 messages a second, and the
	// broker's cost of a delivery should be measured, not the client's.
	filters := func(j int) []string {
		switch s.Kind {
		case FanOut:
			return []string{r.sh.eventFilter(thingID(0))}
		case Idle:
			var fs []string
			for i := j; i < agents; i += consumers {
				fs = append(fs, r.sh.eventFilter(thingID(i)))
			}
			return fs
		}
		return []string{r.sh.eventFilter("+")}
	}
	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d consumers\n", s.Name(), consumers)
	cons, err := r.dialMany(ctx, consumers, func(i int) string { return r.name(tag + "-c" + strconv.Itoa(i)) }, m,
		func(int) func(*paho.Publish) { return onEvent },
		func(ctx context.Context, j int, c *conn) error { return r.subscribe(ctx, c, filters(j)...) })
	if err != nil {
		return Result{}, errorOf("consumers", err)
	}
	defer closeAll(cons)
	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d agents\n", s.Name(), agents)
	t0 := time.Now()
	ags, err := r.dialMany(ctx, agents, func(i int) string { return r.name(tag + "-a" + strconv.Itoa(i)) }, m, nil,
		func(ctx context.Context, i int, c *conn) error { return r.register(ctx, c, thingID(i)) })
	if err != nil {
		return Result{}, errorOf("agents", err)
	}
	defer r.closeAgents(ags)
	fmt.Fprintf(r.cfg.Progress, "%s: %d agents ready in %v\n", s.Name(), agents, time.Since(t0).Round(time.Millisecond))

	var senders sync.WaitGroup
	warmup := r.cfg.Warmup
	if s.Kind == Idle {
		// Every agent publishes at least once before the measurement.
		warmup = max(warmup, s.Interval)
		for i, a := range ags {
			topic := r.sh.eventTopic(a.name, thingID(i))
			offset := s.Interval * time.Duration(i) / time.Duration(agents)
			senders.Go(func() { r.tick(ctx, m, a, topic, offset, s.Interval) })
		}
	} else {
		for i, a := range ags {
			topic := r.sh.eventTopic(a.name, thingID(i))
			for range r.cfg.InFlight {
				senders.Go(func() { r.stream(ctx, m, a, topic, credits, int64(consumers)) })
			}
		}
	}
	return r.measure(ctx, s, m, &senders, warmup), nil
}

// stream publishes events from agent a as fast as the window of credits
// allows, until sending ends.
func (r *runner) stream(ctx context.Context, m *meter, a *conn, topic string, credits chan struct{}, consumers int64) {
	var seq int64
	for {
		select {
		case credits <- struct{}{}:
		case <-m.stopped:
			return
		case <-ctx.Done():
			return
		}
		measured, ok := m.take()
		if !ok {
			giveBack(credits)
			return
		}
		seq++
		err := r.publish(ctx, a, &paho.Publish{Topic: topic, Payload: eventPayload(seq, r.now(), measured, r.cfg.Payload)})
		if err != nil {
			giveBack(credits) // the event is not on its way
			m.fail(err)
			if ctx.Err() != nil {
				return
			}
			select {
			case <-a.Done():
				return
			default:
			}
			continue
		}
		if measured {
			m.sent.Add(1)
			m.expected.Add(consumers)
		}
	}
}

// tick publishes one event from agent a every interval, the first after
// offset, until sending ends.
func (r *runner) tick(ctx context.Context, m *meter, a *conn, topic string, offset, interval time.Duration) {
	t := time.NewTimer(offset)
	defer t.Stop()
	var seq int64
	for {
		select {
		case <-t.C:
		case <-m.stopped:
			return
		case <-ctx.Done():
			return
		}
		t.Reset(interval)
		measured, ok := m.take()
		if !ok {
			return
		}
		seq++
		t0 := r.now()
		err := r.publish(ctx, a, &paho.Publish{Topic: topic, Payload: eventPayload(seq, t0, measured, r.cfg.Payload)})
		if err != nil {
			m.fail(err)
			select {
			case <-a.Done():
				return
			default:
			}
			continue
		}
		if measured {
			m.sent.Add(1)
			m.expected.Add(1) // one consumer has the Thing
		}
	}
}

// giveBack returns a credit taken for an event that was not sent.
func giveBack(credits chan struct{}) {
	select {
	case <-credits:
	default:
	}
}
