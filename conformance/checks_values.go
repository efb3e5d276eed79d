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

// readRetained subscribes to filter and returns the first message.
func (s *suite) readRetained(ctx context.Context, filter string) (*paho.Publish, error) {
	sk, err := s.consumer.listen(ctx, filter)
	if err != nil {
		return nil, err
	}
	defer sk.stop()
	return sk.next(ctx)
}

func (s *suite) checkPropRetained(ctx context.Context) error {
	topic, err := s.agentTopic(agentUpdateProperty, propLevel)
	if err != nil {
		return err
	}
	filter, err := s.twinForm("properties", propLevel, td.OpReadProperty)
	if err != nil {
		return err
	}
	value := []byte("42")
	if err := s.agent.mustPublish(ctx, topic, value, nil); err != nil {
		return fmt.Errorf("AgentUpdateProperty: %w", err)
	}
	m, err := s.readRetained(ctx, filter)
	if err != nil {
		return fmt.Errorf("no value for a subscriber after the agent's PUBACK: %w", err)
	}
	if !m.Retain {
		return fmt.Errorf("the value on %s is not retained", m.Topic)
	}
	if !bytes.Equal(m.Payload, value) {
		return fmt.Errorf("value on %s is %q, want %q", m.Topic, m.Payload, value)
	}
	if err := checkStamp(m, s.cfg.AgentID); err != nil {
		return err
	}
	s.propValue = value
	return nil
}

func (s *suite) checkPropInvalid(ctx context.Context) error {
	topic, err := s.agentTopic(agentUpdateProperty, propLevel)
	if err != nil {
		return err
	}
	for _, bad := range []string{`101`, `"high"`, `{`} {
		rc, reason, err := s.agent.publish(ctx, topic, []byte(bad), nil)
		if err != nil {
			return err
		}
		if err := checkRefusal(fmt.Sprintf("AgentUpdateProperty %s (schema: integer 0..100)", bad), rc, reason, wot.CodeInvalidPayload); err != nil {
			return err
		}
	}
	if s.propValue == nil {
		return nil // PROP-RETAINED failed; it reports why
	}
	filter, err := s.twinForm("properties", propLevel, td.OpReadProperty)
	if err != nil {
		return err
	}
	m, err := s.readRetained(ctx, filter)
	if err != nil {
		return fmt.Errorf("the retained value is gone after refused updates: %w", err)
	}
	if !bytes.Equal(m.Payload, s.propValue) {
		return fmt.Errorf("retained value is %q after refused updates, want %q", m.Payload, s.propValue)
	}
	return nil
}

// publishEvent publishes an event of the test Thing as the agent and
// remembers it for HISTORY.
func (s *suite) publishEvent(ctx context.Context, value string) error {
	topic, err := s.agentTopic(agentPublishEvent, eventTick)
	if err != nil {
		return err
	}
	if err := s.agent.mustPublish(ctx, topic, []byte(value), nil); err != nil {
		return fmt.Errorf("AgentPublishEvent: %w", err)
	}
	s.events = append(s.events, value)
	return nil
}

func (s *suite) checkEventRelay(ctx context.Context) error {
	filter, err := s.twinForm("events", eventTick, td.OpSubscribeEvent)
	if err != nil {
		return err
	}
	sk, err := s.consumer.listen(ctx, filter)
	if err != nil {
		return err
	}
	defer sk.stop()
	if err := s.publishEvent(ctx, "1"); err != nil {
		return err
	}
	m, err := sk.next(ctx)
	if err != nil {
		return fmt.Errorf("event not relayed: %w", err)
	}
	if string(m.Payload) != "1" {
		return fmt.Errorf("event on %s is %q, want %q", m.Topic, m.Payload, "1")
	}
	return checkStamp(m, s.cfg.AgentID)
}

func (s *suite) checkTwinTopicsHubOnly(ctx context.Context) error {
	event, err := s.twinForm("events", eventTick, td.OpSubscribeEvent)
	if err != nil {
		return err
	}
	prop, err := s.twinForm("properties", propLevel, td.OpReadProperty)
	if err != nil {
		return err
	}
	sk, err := s.consumer.listen(ctx, event)
	if err != nil {
		return err
	}
	defer sk.stop()
	presence := wot.Topic{Kind: wot.TopicPresence, ThingID: s.cfg.ThingID}.String()
	for _, topic := range []string{event, prop, presence} {
		rc, reason, err := s.consumer.publish(ctx, topic, []byte("7"), nil)
		if err != nil {
			return err
		}
		if err := checkRefusal("consumer publish on "+topic, rc, reason, wot.CodeDenied); err != nil {
			return err
		}
	}
	// The next event a subscriber sees must be the agent's, not the forged.
	if err := s.publishEvent(ctx, "2"); err != nil {
		return err
	}
	m, err := sk.next(ctx)
	if err != nil {
		return err
	}
	if string(m.Payload) != "2" {
		return fmt.Errorf("subscriber of %s got %q before the agent's event %q: a refused publish was relayed", event, m.Payload, "2")
	}
	return nil
}

func (s *suite) checkHistory(ctx context.Context) error {
	for _, v := range []string{"3", "4", "5"} {
		if err := s.publishEvent(ctx, v); err != nil {
			return err
		}
	}
	reply := s.replyTopic("HISTORY")
	sk, err := s.consumer.listen(ctx, reply)
	if err != nil {
		return err
	}
	defer sk.stop()
	topic := wot.Topic{Kind: wot.TopicEventHistory, ThingID: s.cfg.ThingID, Name: eventTick}.String()
	query := func(q wot.HistoryQuery) (wot.HistoryPage, error) {
		var page wot.HistoryPage
		b, _ := json.Marshal(q)
		corr := []byte("history-" + s.suffix + "-" + q.Cursor)
		if err := s.consumer.mustPublish(ctx, topic, b, request(reply, corr)); err != nil {
			return page, err
		}
		m, err := sk.next(ctx)
		if err != nil {
			return page, fmt.Errorf("no answer to the history query: %w", err)
		}
		if !bytes.Equal(m.Properties.CorrelationData, corr) {
			return page, fmt.Errorf("history answer has CorrelationData %q, want %q", m.Properties.CorrelationData, corr)
		}
		if st := userProp(m, wot.PropStatus); st != string(wot.StatusCompleted) {
			return page, fmt.Errorf("history answer has %s=%q, want %s", wot.PropStatus, st, wot.StatusCompleted)
		}
		if err := json.Unmarshal(m.Payload, &page); err != nil {
			return page, fmt.Errorf("history answer %.200q is not a page: %v", m.Payload, err)
		}
		return page, nil
	}
	all := s.events
	if len(all) < 3 {
		return fmt.Errorf("only %d events were accepted", len(all))
	}
	first, err := query(wot.HistoryQuery{Limit: 2})
	if err != nil {
		return err
	}
	if err := s.checkItems(first, all[:2]); err != nil {
		return fmt.Errorf("first page (limit 2): %w", err)
	}
	if first.Next == "" {
		return fmt.Errorf("first page (limit 2) of %d events has no next cursor", len(all))
	}
	rest, err := query(wot.HistoryQuery{Limit: 1000, Cursor: first.Next})
	if err != nil {
		return err
	}
	if err := s.checkItems(rest, all[2:]); err != nil {
		return fmt.Errorf("second page: %w", err)
	}
	if rest.Next != "" {
		return fmt.Errorf("last page has next cursor %q", rest.Next)
	}
	if last := first.Items[len(first.Items)-1].Time; rest.Items[0].Time.Before(last) {
		return fmt.Errorf("second page starts at %v, before the end of the first (%v)", rest.Items[0].Time, last)
	}
	return nil
}

// checkItems checks that a history page holds exactly the events want, in
// order, stamped by the agent.
func (s *suite) checkItems(page wot.HistoryPage, want []string) error {
	var got []string
	for _, it := range page.Items {
		got = append(got, string(it.Value))
	}
	if len(got) != len(want) {
		return fmt.Errorf("values %q, want %q", got, want)
	}
	for i, it := range page.Items {
		switch {
		case !jsonEqual(it.Value, []byte(want[i])):
			return fmt.Errorf("values %q, want %q (oldest first)", got, want)
		case it.Kind != wot.KindEvent || it.Name != eventTick:
			return fmt.Errorf("item %d is %s %q, want event %q", i, it.Kind, it.Name, eventTick)
		case it.Sender != s.cfg.AgentID:
			return fmt.Errorf("item %d has sender %q, want %q", i, it.Sender, s.cfg.AgentID)
		case it.Time.IsZero():
			return fmt.Errorf("item %d has no time", i)
		case i > 0 && it.Time.Before(page.Items[i-1].Time):
			return fmt.Errorf("item %d (%v) is older than item %d (%v)", i, it.Time, i-1, page.Items[i-1].Time)
		}
	}
	return nil
}

// presenceRecord is the retained payload of things/{id}/presence.
type presenceRecord struct {
	State wot.Presence `json:"state"`
	Since time.Time    `json:"since"`
	Seq   uint64       `json:"seq"`
}

func (s *suite) checkPresence(ctx context.Context) error {
	filter, err := s.twinForm("events", eventPresence, td.OpSubscribeEvent)
	if err != nil {
		return err
	}
	if want := wot.EventTopic(s.cfg.ThingID, eventPresence); filter != want {
		return fmt.Errorf("the %s event's subscribeevent form has filter %q, want %q", eventPresence, filter, want)
	}
	// The event topic carries each change; the current state is retained
	// on the presence topic.
	m, err := s.readRetained(ctx, wot.Topic{Kind: wot.TopicPresence, ThingID: s.cfg.ThingID}.String())
	if err != nil {
		return fmt.Errorf("no presence: %w", err)
	}
	if !m.Retain {
		return fmt.Errorf("the presence on %s is not retained", m.Topic)
	}
	var rec presenceRecord
	if err := json.Unmarshal(m.Payload, &rec); err != nil {
		return fmt.Errorf("presence %.200q: %v", m.Payload, err)
	}
	if rec.State != wot.PresenceOnline || rec.Since.IsZero() || rec.Seq < 1 {
		return fmt.Errorf("presence %s, want state online (the agent is connected), a since time and seq >= 1", m.Payload)
	}
	return checkStamp(m, s.cfg.AgentID)
}
