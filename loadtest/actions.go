package loadtest

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wot"
)

// reply is a reply a consumer received.
type reply struct {
	corr   string
	status string // wot.PropStatus; "" from a plain responder
	detail string // error code and message of a failed reply
	at     int64  // runner.now() on receipt
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

	reqs := make(chan *paho.Publish, 4*n+16)
	agent, err := r.dial(ctx, r.name(tag+"-a"), m, func(p *paho.Publish) {
		select {
		case reqs <- p:
		default:
			m.fail(errors.New("responder: request queue full"))
		}
	})
	if err != nil {
		return Result{}, errorOf("agent", err)
	}
	defer r.closeAgents([]*conn{agent})
	for i := range n {
		if err := r.register(ctx, agent, thingID(i)); err != nil {
			return Result{}, errorOf("agent", err)
		}
	}
	if err := r.subscribe(ctx, agent, r.sh.requestsFilter(agent.name)); err != nil {
		return Result{}, errorOf("agent", err)
	}
	quit := make(chan struct{})
	var answering sync.WaitGroup
	defer answering.Wait()
	defer close(quit)
	for range min(n, 16) {
		answering.Go(func() { r.answer(ctx, m, agent, reqs, quit) })
	}

	replies := make([]chan reply, n)
	for i := range replies {
		replies[i] = make(chan reply, 4)
	}
	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d consumers\n", s.Name(), n)
	cons, err := r.dialMany(ctx, n, func(i int) string { return r.name(tag + "-c" + strconv.Itoa(i)) }, m,
		func(i int) func(*paho.Publish) {
			return func(p *paho.Publish) {
				rep := reply{at: r.now()}
				if p.Properties != nil {
					rep.corr = string(p.Properties.CorrelationData)
					rep.status = p.Properties.User.Get(wot.PropStatus)
					if rep.status == string(wot.StatusFailed) {
						rep.detail = p.Properties.User.Get(wot.PropError) + ": " + p.Properties.User.Get(wot.PropMessage)
					}
				}
				select {
				case replies[i] <- rep:
				default: // a stale reply nobody waits for
				}
			}
		},
		func(ctx context.Context, _ int, c *conn) error {
			return r.subscribe(ctx, c, r.sh.replyTopic(c.name, c.id))
		})
	if err != nil {
		return Result{}, errorOf("consumers", err)
	}
	defer closeAll(cons)

	var senders sync.WaitGroup
	for i, c := range cons {
		topic := r.sh.actionTopic(thingID(i))
		senders.Go(func() { r.roundTrips(ctx, m, c, topic, replies[i]) })
	}
	return r.measure(ctx, s, m, &senders, r.cfg.Warmup), nil
}

// answer echoes every request on its ResponseTopic with its
// CorrelationData, as an agent completing the action does.
func (r *runner) answer(ctx context.Context, m *meter, agent *conn, reqs <-chan *paho.Publish, quit <-chan struct{}) {
	for {
		select {
		case <-quit:
			return
		case <-ctx.Done():
			return
		case req := <-reqs:
			if req.Properties == nil || req.Properties.ResponseTopic == "" {
				m.fail(fmt.Errorf("request on %s without a ResponseTopic", req.Topic))
				continue
			}
			err := r.publish(ctx, agent, &paho.Publish{
				Topic: req.Properties.ResponseTopic, Payload: req.Payload,
				Properties: &paho.PublishProperties{CorrelationData: req.Properties.CorrelationData},
			})
			if err != nil {
				m.fail(fmt.Errorf("answer: %w", err))
			}
		}
	}
}

// roundTrips invokes the action on topic one request at a time until
// sending ends, and waits for each final reply.
func (r *runner) roundTrips(ctx context.Context, m *meter, c *conn, topic string, replies <-chan reply) {
	props := &paho.PublishProperties{ResponseTopic: r.sh.replyTopic(c.name, c.id)}
	if r.cfg.Target == TargetWotmq {
		props.User = paho.UserProperties{{Key: wot.PropReplies, Value: wot.RepliesFinal}}
	}
	var seq int64
	for {
		measured, ok := m.take()
		if !ok || ctx.Err() != nil {
			return
		}
		seq++
		corr := strconv.FormatInt(seq, 10)
		p := *props
		p.CorrelationData = []byte(corr)
		t0 := r.now()
		if err := r.publish(ctx, c, &paho.Publish{Topic: topic, Payload: []byte(corr), Properties: &p}); err != nil {
			m.fail(err)
			select {
			case <-c.Done():
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
