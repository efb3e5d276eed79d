package conformance

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// agentRequests returns the agent's subscription to its requests topic
// (the hub TD's AgentReceiveRequests form), made on first use.
func (s *suite) agentRequests(ctx context.Context) (*sink, error) {
	if s.requests != nil {
		return s.requests, nil
	}
	filter, err := s.agentTopic(agentReceive, "")
	if err != nil {
		return nil, err
	}
	sk, err := s.agent.listen(ctx, filter)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	s.requests = sk
	return sk, nil
}

// nextRequest returns the next request the agent receives and checks that
// it is the one expected, as docs/topics.md#requests-as-the-agent-sees-them
// describes it. An unexpected request is answered failed and reported.
func (s *suite) nextRequest(ctx context.Context, op, name string, input []byte) (*paho.Publish, error) {
	sk, err := s.agentRequests(ctx)
	if err != nil {
		return nil, err
	}
	var m *paho.Publish
	for {
		if m, err = sk.next(ctx); err != nil {
			return nil, fmt.Errorf("the agent got no request: %w", err)
		}
		id := userProp(m, wot.PropActionID)
		if id == "" || !s.handled[id] {
			s.handled[id] = true
			break
		}
		// At-least-once delivery: the agent de-duplicates by action-id.
		if userProp(m, wot.PropRedelivered) == "" {
			return nil, fmt.Errorf("the agent got request %s again, without the %s user property", id, wot.PropRedelivered)
		}
	}
	gotOp, thing, gotName := userProp(m, wot.PropOp), userProp(m, wot.PropThing), userProp(m, wot.PropName)
	if gotOp != op || thing != s.cfg.ThingID || gotName != name || !jsonEqual(m.Payload, input) {
		_ = s.answer(ctx, m, wot.StatusFailed, []byte(`"unexpected request"`))
		return nil, fmt.Errorf("the agent got an unexpected request (op=%q thing=%q name=%q payload %q), want op=%q name=%q payload %q",
			gotOp, thing, gotName, m.Payload, op, name, input)
	}
	var p problems
	if userProp(m, wot.PropActionID) == "" {
		p.addf("request has no %s user property", wot.PropActionID)
	}
	if got := userProp(m, wot.PropSender); got != s.consumerID {
		p.addf("request has %s=%q, want the consumer %q", wot.PropSender, got, s.consumerID)
	}
	if err := checkTime(m); err != nil {
		p.addf("request: %v", err)
	}
	if len(m.Properties.CorrelationData) == 0 {
		p.addf("request has no CorrelationData")
	}
	if want, err := s.agentTopic(agentReply, ""); err == nil && m.Properties.ResponseTopic != want {
		p.addf("request has ResponseTopic %q, want %q (the hub TD's %s form)", m.Properties.ResponseTopic, want, agentReply)
	}
	if err := p.err(); err != nil {
		_ = s.answer(ctx, m, wot.StatusFailed, []byte(`"bad request"`))
		return nil, err
	}
	return m, nil
}

// answer replies to a request as the agent: on its ResponseTopic, with its
// CorrelationData and the status user property.
func (s *suite) answer(ctx context.Context, req *paho.Publish, status wot.Status, payload []byte) error {
	err := s.agent.mustPublish(ctx, req.Properties.ResponseTopic, payload,
		request("", req.Properties.CorrelationData, wot.PropStatus, string(status)))
	if err != nil {
		return fmt.Errorf("agent reply %s: %w", status, err)
	}
	return nil
}

// replies reads a consumer's replies up to a final status and checks that
// each carries corr.
func replies(ctx context.Context, sk *sink, corr []byte) ([]*paho.Publish, error) {
	var out []*paho.Publish
	for len(out) < 16 {
		m, err := sk.next(ctx)
		if err != nil {
			return out, fmt.Errorf("after %s: %w", statuses(out), err)
		}
		if !bytes.Equal(m.Properties.CorrelationData, corr) {
			return out, fmt.Errorf("reply with CorrelationData %q, want %q", m.Properties.CorrelationData, corr)
		}
		out = append(out, m)
		if wot.Status(userProp(m, wot.PropStatus)).Final() {
			return out, nil
		}
	}
	return out, fmt.Errorf("no final status after %s", statuses(out))
}

func statuses(ms []*paho.Publish) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, userProp(m, wot.PropStatus))
	}
	return out
}

func equalStrings(a []string, b ...string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func (s *suite) checkActionRoundTrip(ctx context.Context) error {
	invoke, err := s.twinForm("actions", actScale, td.OpInvokeAction)
	if err != nil {
		return err
	}
	reply := s.replyTopic("ACTION-ROUNDTRIP")
	sk, err := s.consumer.listen(ctx, reply)
	if err != nil {
		return err
	}
	defer sk.stop()
	if _, err := s.agentRequests(ctx); err != nil {
		return err
	}
	corr, input := []byte("roundtrip-"+s.suffix), []byte(`{"factor":3}`)
	if err := s.consumer.mustPublish(ctx, invoke, input, request(reply, corr)); err != nil {
		return fmt.Errorf("invokeaction: %w", err)
	}
	req, err := s.nextRequest(ctx, wot.OpInvokeAction, actScale, input)
	if err != nil {
		return err
	}
	progress, output := []byte(`50`), []byte(`21`)
	if err := s.answer(ctx, req, wot.StatusRunning, progress); err != nil {
		return err
	}
	if err := s.answer(ctx, req, wot.StatusCompleted, output); err != nil {
		return err
	}
	ms, err := replies(ctx, sk, corr)
	if err != nil {
		return err
	}
	if st := statuses(ms); !equalStrings(st, "delivered", "running", "completed") {
		return fmt.Errorf("statuses %v, want [delivered running completed]", st)
	}
	id := userProp(req, wot.PropActionID)
	for _, m := range ms {
		if got := userProp(m, wot.PropActionID); got != id {
			return fmt.Errorf("%s reply has %s=%q, want the request's %q", userProp(m, wot.PropStatus), wot.PropActionID, got, id)
		}
		if err := checkTime(m); err != nil {
			return err
		}
	}
	if !jsonEqual(ms[1].Payload, progress) {
		return fmt.Errorf("running reply payload %q, want the agent's progress %q", ms[1].Payload, progress)
	}
	if !jsonEqual(ms[2].Payload, output) {
		return fmt.Errorf("completed reply payload %q, want the agent's output %q", ms[2].Payload, output)
	}
	s.actionID, s.output = id, output
	return nil
}

func (s *suite) checkActionQuery(ctx context.Context) error {
	filter, err := s.twinForm("actions", actScale, td.OpQueryAction)
	if err != nil {
		return err
	}
	m, err := s.readRetained(ctx, filter)
	if err != nil {
		return fmt.Errorf("no status record: %w", err)
	}
	if !m.Retain {
		return fmt.Errorf("the status record on %s is not retained", m.Topic)
	}
	var st wot.ActionStatus
	if err := json.Unmarshal(m.Payload, &st); err != nil {
		return fmt.Errorf("status record %.200q: %v", m.Payload, err)
	}
	var p problems
	if st.ID != s.actionID {
		p.addf("id %q, want ACTION-ROUNDTRIP's %q", st.ID, s.actionID)
	}
	if st.Status != wot.StatusCompleted {
		p.addf("status %q, want completed", st.Status)
	}
	if !jsonEqual(st.Output, s.output) {
		p.addf("output %q, want %q", st.Output, s.output)
	}
	if st.ThingID != s.cfg.ThingID || st.Name != actScale || st.Op != wot.OpInvokeAction {
		p.addf("thingID, name, op = %q, %q, %q; want %q, %q, %q", st.ThingID, st.Name, st.Op, s.cfg.ThingID, actScale, wot.OpInvokeAction)
	}
	if st.Sender != s.consumerID {
		p.addf("sender %q, want %q", st.Sender, s.consumerID)
	}
	return p.err()
}

// refused sends a consumer request the hub must refuse with code, and
// checks the PUBACK and the failed reply.
func (s *suite) refused(ctx context.Context, check, what, topic string, payload []byte, code wot.Code) error {
	reply := s.replyTopic(check)
	sk, err := s.consumer.listen(ctx, reply)
	if err != nil {
		return err
	}
	defer sk.stop()
	corr := []byte(check + "-" + s.suffix)
	rc, reason, err := s.consumer.publish(ctx, topic, payload, request(reply, corr))
	if err != nil {
		return err
	}
	if err := checkRefusal(what, rc, reason, code); err != nil {
		return err
	}
	m, err := sk.next(ctx)
	if err != nil {
		return fmt.Errorf("no failed reply: %w", err)
	}
	return checkFailedReply(m, corr, code)
}

func (s *suite) checkActionInvalidInput(ctx context.Context) error {
	invoke, err := s.twinForm("actions", actScale, td.OpInvokeAction)
	if err != nil {
		return err
	}
	return s.refused(ctx, "ACTION-INVALID-INPUT", `invokeaction with {"factor":0} (minimum 1)`,
		invoke, []byte(`{"factor":0}`), wot.CodeInvalidPayload)
}

func (s *suite) checkActionUnknown(ctx context.Context) error {
	name := "no-such-action-" + s.suffix
	if s.twin.Actions[name] != nil {
		return fmt.Errorf("the twin TD has an action %q the suite did not register", name)
	}
	return s.refused(ctx, "ACTION-UNKNOWN", "invokeaction of "+name, wot.ActionTopic(s.cfg.ThingID, name),
		[]byte(`{}`), wot.CodeUnknownAffordance)
}

func (s *suite) checkWriteReadOnly(ctx context.Context) error {
	p := s.twin.Properties[propSerial]
	if p == nil || !p.ReadOnly {
		return fmt.Errorf("the twin TD lost the readOnly property %q", propSerial)
	}
	if _, ok := formFor(p.Forms, td.OpWriteProperty); ok {
		return fmt.Errorf("readOnly property %q has a writeproperty form", propSerial)
	}
	// No form to take the topic from: use the topic scheme.
	topic := wot.Topic{Kind: wot.TopicPropertySet, ThingID: s.cfg.ThingID, Name: propSerial}.String()
	return s.refused(ctx, "WRITE-READONLY", "writeproperty of readOnly "+propSerial, topic,
		[]byte(`"x"`), wot.CodeReadOnly)
}

func (s *suite) checkPropWrite(ctx context.Context) error {
	write, err := s.twinForm("properties", propLevel, td.OpWriteProperty)
	if err != nil {
		return err
	}
	reply := s.replyTopic("PROP-WRITE")
	sk, err := s.consumer.listen(ctx, reply)
	if err != nil {
		return err
	}
	defer sk.stop()
	if _, err := s.agentRequests(ctx); err != nil {
		return err
	}
	corr, value := []byte("write-"+s.suffix), []byte(`70`)
	if err := s.consumer.mustPublish(ctx, write, value, request(reply, corr)); err != nil {
		return fmt.Errorf("writeproperty: %w", err)
	}
	req, err := s.nextRequest(ctx, wot.OpWriteProperty, propLevel, value)
	if err != nil {
		return err
	}
	if err := s.answer(ctx, req, wot.StatusCompleted, nil); err != nil {
		return err
	}
	ms, err := replies(ctx, sk, corr)
	if err != nil {
		return err
	}
	if st := statuses(ms); !equalStrings(st, "delivered", "completed") {
		return fmt.Errorf("statuses %v, want [delivered completed]", st)
	}
	return nil
}

func (s *suite) checkActionFinalOnly(ctx context.Context) error {
	invoke, err := s.twinForm("actions", actScale, td.OpInvokeAction)
	if err != nil {
		return err
	}
	reply := s.replyTopic("ACTION-FINAL-ONLY")
	sk, err := s.consumer.listen(ctx, reply)
	if err != nil {
		return err
	}
	defer sk.stop()
	if _, err := s.agentRequests(ctx); err != nil {
		return err
	}
	corr, input := []byte("final-"+s.suffix), []byte(`{"factor":4}`)
	props := request(reply, corr, wot.PropReplies, wot.RepliesFinal)
	if err := s.consumer.mustPublish(ctx, invoke, input, props); err != nil {
		return fmt.Errorf("invokeaction: %w", err)
	}
	req, err := s.nextRequest(ctx, wot.OpInvokeAction, actScale, input)
	if err != nil {
		return err
	}
	output := []byte(`28`)
	if err := s.answer(ctx, req, wot.StatusRunning, []byte(`50`)); err != nil {
		return err
	}
	if err := s.answer(ctx, req, wot.StatusCompleted, output); err != nil {
		return err
	}
	m, err := sk.next(ctx)
	if err != nil {
		return fmt.Errorf("no reply: %w", err)
	}
	if st := userProp(m, wot.PropStatus); st != string(wot.StatusCompleted) {
		return fmt.Errorf("first reply has status %q, want only the outcome (completed)", st)
	}
	if !bytes.Equal(m.Properties.CorrelationData, corr) || !jsonEqual(m.Payload, output) {
		return fmt.Errorf("outcome has CorrelationData %q payload %q, want %q and %q", m.Properties.CorrelationData, m.Payload, corr, output)
	}
	if extra := sk.within(ctx, s.quiet()); extra != nil {
		return fmt.Errorf("a second reply arrived (status %q)", userProp(extra, wot.PropStatus))
	}
	return nil
}

func (s *suite) checkDelete(ctx context.Context) error {
	topic, err := s.agentTopic(agentUpdateTD, "")
	if err != nil {
		return err
	}
	if err := s.agent.mustPublish(ctx, topic, nil, nil); err != nil {
		return fmt.Errorf("empty AgentUpdateTD: %w", err)
	}
	s.registered = false
	event, err := s.agentTopic(agentPublishEvent, eventTick)
	if err != nil {
		return err
	}
	rc, reason, err := s.agent.publish(ctx, event, []byte("6"), nil)
	if err != nil {
		return err
	}
	if err := checkRefusal("AgentPublishEvent for the deleted Thing", rc, reason, wot.CodeUnknownThing); err != nil {
		return err
	}
	// A fresh subscription to everything under the Thing must find nothing
	// retained: not the TD, property values, action statuses, nor anything
	// else the hub keeps there.
	all := wot.ThingsRoot + "/" + wot.EscapeLevel(s.cfg.ThingID) + "/#"
	sk, err := s.consumer.listen(ctx, all)
	if err != nil {
		return err
	}
	defer sk.stop()
	deadline := time.NewTimer(s.quiet())
	defer deadline.Stop()
	for {
		select {
		case m := <-sk.ch:
			if len(m.Payload) > 0 {
				return fmt.Errorf("%s still holds a retained message after the delete: %.100q", m.Topic, m.Payload)
			}
		case <-deadline.C:
			return nil
		case <-ctx.Done():
			return nil
		}
	}
}
