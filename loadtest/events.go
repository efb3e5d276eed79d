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

// runEvents runs FanIn and FanOut: agents publish events, consumers
// receive every one of them.
func (r *runner) runEvents(ctx context.Context, s Scenario) (Result, error) {
	agents, consumers := s.Agents, s.Consumers
	if s.Kind == FanOut {
		agents = 1
	}
	tag := map[Kind]string{FanIn: "in", FanOut: "out"}[s.Kind] + strconv.Itoa(agents) + "x" + strconv.Itoa(consumers) + "q" + strconv.Itoa(int(s.QoS))
	thingID := func(i int) string { return r.name(tag + "-t" + strconv.Itoa(i)) }
	m := newMeter(r.cfg.Count)

	// With a window, every delivery returns a credit once each consumer
	// has received the event.
	var credits chan struct{}
	if r.cfg.Window > 0 {
		credits = make(chan struct{}, r.cfg.Window)
	}
	var deliveries atomic.Int64
	release := func() {
		if credits != nil && deliveries.Add(1)%int64(consumers) == 0 {
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
		now := r.now()
		if measured {
			m.lat.Record(time.Duration(now - ts))
		}
		m.delivered(measured, now)
		release()
	}

	filter := r.sh.eventFilter("+")
	if s.Kind == FanOut {
		filter = r.sh.eventFilter(thingID(0))
	}
	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d consumers\n", s.Name(), consumers)
	cons, err := r.dialMany(ctx, consumers, func(i int) string { return r.name(tag + "-c" + strconv.Itoa(i)) }, m,
		func(int) func(*paho.Publish) { return onEvent },
		func(ctx context.Context, j int, c *conn) error { return r.subscribeQoS(ctx, c, s.QoS, filter) })
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
	for i, a := range ags {
		topic := r.sh.eventTopic(a.name, thingID(i))
		streams := r.cfg.InFlight
		if s.QoS == 0 {
			streams = 1 // nothing to wait for: one writer keeps the connection full
		}
		for range streams {
			senders.Go(func() { r.stream(ctx, m, a, topic, s, credits, int64(consumers)) })
		}
	}
	return r.measure(ctx, s, m, &senders, r.cfg.Warmup), nil
}

// stream publishes events from agent a as fast as its connection (QoS 0),
// the PUBACKs (QoS 1) and the window of credits (when there is one) allow,
// until sending ends.
func (r *runner) stream(ctx context.Context, m *meter, a *conn, topic string, s Scenario, credits chan struct{}, consumers int64) {
	var seq int64
	for {
		if credits != nil {
			select {
			case credits <- struct{}{}:
			case <-m.stopped:
				return
			case <-ctx.Done():
				return
			}
		} else if ctx.Err() != nil {
			return
		}
		measured, ok := m.take()
		if !ok {
			giveBack(credits)
			return
		}
		seq++
		err := r.publishQoS(ctx, a, s.QoS, &paho.Publish{Topic: topic, Payload: eventPayload(seq, r.now(), measured, s.Payload)})
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

// giveBack returns a credit taken for an event that was not sent.
func giveBack(credits chan struct{}) {
	if credits == nil {
		return
	}
	select {
	case <-credits:
	default:
	}
}
