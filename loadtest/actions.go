package loadtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/wotmq/wotmq/wot"
)

// reply is a reply a consumer received.
type reply struct {
	corr   string
	status string // wot.PropStatus; "" from a plain responder
	detail string // error code and message of a failed reply
	at     int64  // runner.now() on receipt
}

// request is a request the agent received: where and how to answer.
type request struct {
	responseTopic string
	corr          []byte
	payload       []byte
}

// runAction runs Action: Concurrency consumers each invoke the echo action
// of a Thing of their own, one request at a time, and one agent answers
// every request. Against a wotmq hub the consumers ask for the outcome
// only (replies=final), so both targets carry four messages per round
// trip: request, request to the agent, answer, reply.
func (r *runner) runAction(ctx context.Context, s Scenario) (Result, error) {
	n := s.Concurrency
	m := newMeter(r.cfg.Count)
	tag := "act" + strconv.Itoa(n)
	thingID := func(i int) string { return r.name(tag + "-t" + strconv.Itoa(i)) }

	reqs := make(chan request, 4*n+16)
	agent, err := r.dialRaw(ctx, r.name(tag+"-a"), m, func(p rawPublish) {
		var req request
		walkProps(p.props, func(id byte, v, _ []byte) bool {
			switch id {
			case propResponseTopic:
				req.responseTopic = string(v)
			case propCorrelationData:
				req.corr = append([]byte(nil), v...)
			}
			return true
		})
		req.payload = append([]byte(nil), p.payload...)
		select {
		case reqs <- req:
		default:
			m.fail(errors.New("responder: request queue full"))
		}
	})
	if err != nil {
		return Result{}, errorOf("agent", err)
	}
	defer r.closeRawAgents([]*rawConn{agent})
	if r.cfg.Target == TargetWotmq {
		for i := range n {
			if err := agent.publish(r.cfg.Timeout, 1, r.sh.tdTopic(agent.name, thingID(i)), benchTD(thingID(i))); err != nil {
				return Result{}, errorOf("agent", err)
			}
			agent.things = append(agent.things, thingID(i))
		}
	}
	if err := agent.subscribe(r.cfg.Timeout, 1, r.sh.requestsFilter(agent.name)); err != nil {
		return Result{}, errorOf("agent", err)
	}
	quit := make(chan struct{})
	var answering sync.WaitGroup
	defer answering.Wait()
	defer close(quit)
	for range min(n, 16) {
		answering.Go(func() { r.answer(ctx, m, agent, reqs, quit) })
	}

	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d consumers\n", s.Name(), n)
	var cons []*rawConn
	defer func() {
		for _, c := range cons {
			c.close()
		}
	}()
	replies := make([]chan reply, n)
	for i := range n {
		replies[i] = make(chan reply, 4)
		ch := replies[i]
		c, err := r.dialRaw(ctx, r.name(tag+"-c"+strconv.Itoa(i)), m, func(p rawPublish) {
			rep := reply{at: r.now()}
			var code, msg string
			walkProps(p.props, func(id byte, v, v2 []byte) bool {
				switch {
				case id == propCorrelationData:
					rep.corr = string(v)
				case id == propUser && string(v) == wot.PropStatus:
					rep.status = string(v2)
				case id == propUser && string(v) == wot.PropError:
					code = string(v2)
				case id == propUser && string(v) == wot.PropMessage:
					msg = string(v2)
				}
				return true
			})
			if rep.status == string(wot.StatusFailed) {
				rep.detail = code + ": " + msg
			}
			select {
			case ch <- rep:
			default: // a stale reply nobody waits for
			}
		})
		if err != nil {
			return Result{}, errorOf("consumers", err)
		}
		cons = append(cons, c)
		if err := c.subscribe(r.cfg.Timeout, 1, r.sh.replyTopic(c.name, c.id)); err != nil {
			return Result{}, errorOf("consumers", err)
		}
	}

	var senders sync.WaitGroup
	for i, c := range cons {
		topic := r.sh.actionTopic(thingID(i))
		senders.Go(func() { r.roundTrips(ctx, m, c, topic, replies[i]) })
	}
	return r.measure(ctx, s, m, &senders, r.cfg.Warmup), nil
}

// answer echoes every request on its ResponseTopic with its
// CorrelationData, as an agent completing the action does.
func (r *runner) answer(ctx context.Context, m *meter, agent *rawConn, reqs <-chan request, quit <-chan struct{}) {
	var props []byte
	for {
		select {
		case <-quit:
			return
		case <-ctx.Done():
			return
		case req := <-reqs:
			if req.responseTopic == "" {
				m.fail(errors.New("request without a ResponseTopic"))
				continue
			}
			props = appendProp(props[:0], propCorrelationData, req.corr)
			if err := agent.publishProps(r.cfg.Timeout, 1, req.responseTopic, props, req.payload); err != nil {
				m.fail(fmt.Errorf("answer: %w", err))
			}
		}
	}
}

// roundTrips invokes the action on topic one request at a time until
// sending ends, and waits for each final reply.
func (r *runner) roundTrips(ctx context.Context, m *meter, c *rawConn, topic string, replies <-chan reply) {
	var fixed []byte
	fixed = appendProp(fixed, propResponseTopic, []byte(r.sh.replyTopic(c.name, c.id)))
	if r.cfg.Target == TargetWotmq {
		fixed = appendUserProp(fixed, wot.PropReplies, wot.RepliesFinal)
	}
	props := make([]byte, 0, len(fixed)+32)
	var seq int64
	for {
		measured, ok := m.take()
		if !ok || ctx.Err() != nil {
			return
		}
		seq++
		corr := strconv.FormatInt(seq, 10)
		props = appendProp(append(props[:0], fixed...), propCorrelationData, []byte(corr))
		t0 := r.now()
		if err := c.publishProps(r.cfg.Timeout, 1, topic, props, []byte(corr)); err != nil {
			m.fail(err)
			select {
			case <-c.done:
				return
			default:
				continue
			}
		}
		m.sent.Add(1)
		m.expected.Add(1)
		r.awaitReply(ctx, m, corr, t0, measured, replies)
	}
}

// awaitReply waits for the reply with correlation data corr.
func (r *runner) awaitReply(ctx context.Context, m *meter, corr string, t0 int64, measured bool, replies <-chan reply) {
	t := time.NewTimer(r.cfg.Timeout)
	defer t.Stop()
	for {
		select {
		case rep := <-replies:
			if rep.corr != corr {
				continue // late reply to a request that timed out
			}
			switch {
			case rep.status != "" && rep.status != string(wot.StatusCompleted):
				m.expected.Add(-1)
				m.fail(fmt.Errorf("request %s: status %s %s", corr, rep.status, rep.detail))
			default:
				if measured {
					m.lat.Record(time.Duration(rep.at - t0))
				}
				m.delivered()
			}
			return
		case <-t.C:
			m.fail(fmt.Errorf("request %s: no reply within %v", corr, r.cfg.Timeout))
			return
		case <-ctx.Done():
			return
		}
	}
}
