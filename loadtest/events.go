package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// publisherSendBuffer is the socket send buffer of QoS 0 publishers.
const publisherSendBuffer = 32 << 10

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
	onEvent := func(p rawPublish) {
		if !bytes.HasPrefix(p.topic, []byte(ours)) {
			return
		}
		ts, measured, ok := parseEvent(p.payload)
		if !ok {
			m.fail(fmt.Errorf("event on %s: unexpected payload %.80q", p.topic, p.payload))
			return
		}
		now := r.now()
		if measured {
			m.lat.Record(time.Duration(now - ts))
		}
		m.delivered()
		release()
	}

	filter := r.sh.eventFilter("+")
	if s.Kind == FanOut {
		filter = r.sh.eventFilter(thingID(0))
	}
	var cons, ags []*rawConn
	defer func() {
		r.closeRawAgents(ags)
		for _, c := range cons {
			c.close()
		}
	}()
	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d consumers\n", s.Name(), consumers)
	for i := range consumers {
		c, err := r.dialRaw(ctx, r.name(tag+"-c"+strconv.Itoa(i)), m, onEvent)
		if err != nil {
			return Result{}, errorOf("consumers", err)
		}
		cons = append(cons, c)
		if err := c.subscribe(r.cfg.Timeout, s.QoS, filter); err != nil {
			return Result{}, errorOf("consumers", err)
		}
	}
	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d agents\n", s.Name(), agents)
	t0 := time.Now()
	for i := range agents {
		a, err := r.dialRaw(ctx, r.name(tag+"-a"+strconv.Itoa(i)), m, nil)
		if err != nil {
			return Result{}, errorOf("agents", err)
		}
		if tc, ok := a.nc.(*net.TCPConn); ok && s.QoS == 0 {
			// A fixed send buffer: the kernel would grow it to 4 MiB,
			// seconds of events queued ahead of the measured ones in the
			// publisher's own socket.
			_ = tc.SetWriteBuffer(publisherSendBuffer)
		}
		ags = append(ags, a)
		if r.cfg.Target == TargetWotmq {
			if err := a.publish(r.cfg.Timeout, 1, r.sh.tdTopic(a.name, thingID(i)), benchTD(thingID(i))); err != nil {
				return Result{}, errorOf("agents", err)
			}
			a.things = append(a.things, thingID(i))
		}
	}
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
// until sending ends. QoS 0 publishes are written in batches of about 4
// KiB, as a client library that buffers its writes does.
func (r *runner) stream(ctx context.Context, m *meter, a *rawConn, topic string, s Scenario, credits chan struct{}, consumers int64) {
	defer a.flush()
	var seq int64
	buf := make([]byte, 0, s.Payload+64)
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
		buf = appendEvent(buf[:0], seq, r.now(), measured, s.Payload)
		err := a.publish(r.cfg.Timeout, s.QoS, topic, buf)
		if err == nil && s.QoS == 0 && (a.buffered() >= 4096 || credits != nil) {
			err = a.flush()
		}
		if err != nil {
			giveBack(credits) // the event is not on its way
			m.fail(err)
			select {
			case <-a.done:
				return
			case <-ctx.Done():
				return
			default:
			}
			continue
		}
		m.sent.Add(1)
		m.expected.Add(consumers)
	}
}

// closeRawAgents deletes the Things the agents registered, unless Keep,
// and disconnects them.
func (r *runner) closeRawAgents(agents []*rawConn) {
	for _, a := range agents {
		if !r.cfg.Keep {
			for _, thing := range a.things {
				if err := a.publish(r.cfg.Timeout, 1, r.sh.tdTopic(a.name, thing), nil); err != nil {
					fmt.Fprintf(r.cfg.Progress, "could not delete Thing %s: %v\n", thing, err)
				}
			}
		}
		a.close()
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
