package conformance

import (
	"context"
	"fmt"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wot"
)

// Free topics: every topic outside the hub's namespaces works as on a
// plain MQTT 5 broker (docs/topics.md#free-topics). These checks use a
// topic prefix of their own; a hub whose access rules close free topics
// to the consumer fails them with the refusal (run them against a hub in
// development mode, or give the consumer a rule: wotmq acl allow ID
// 'wotmq-conformance/#').

// freeTopic is a topic of this run under the checks' own prefix.
func (s *suite) freeTopic(check, rest string) string {
	return "wotmq-conformance/" + s.suffix + "/" + check + "/" + rest
}

// checkFreeRetained: a retained message on a free topic reaches a later
// subscriber retained, with the properties it was published with, and an
// empty retained publish clears it [MQTT-3.3.1-5] [MQTT-3.3.1-6]
// [MQTT-3.3.1-9] [MQTT-3.3.2-17] [MQTT-3.3.2-20].
func (s *suite) checkFreeRetained(ctx context.Context) error {
	topic := s.freeTopic("retained", "state")
	props := &paho.PublishProperties{ContentType: "text/plain", User: paho.UserProperties{{Key: "k", Value: "v"}}}
	if _, err := s.consumer.pc.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: []byte("ON"), Properties: props}); err != nil {
		return s.consumer.explain(fmt.Errorf("retained publish on %s: %w", topic, err))
	}
	sk, err := s.consumer.listen(ctx, topic)
	if err != nil {
		return err
	}
	m, err := sk.next(ctx)
	sk.stop()
	if err != nil {
		return err
	}
	switch {
	case !m.Retain || string(m.Payload) != "ON":
		return fmt.Errorf("a new subscriber got %q with retain %v; want the retained \"ON\"", m.Payload, m.Retain)
	case m.Properties == nil || m.Properties.ContentType != "text/plain" || m.Properties.User.Get("k") != "v":
		return fmt.Errorf("the retained message lost its properties: %+v", m.Properties)
	}
	if _, err := s.consumer.pc.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Retain: true}); err != nil {
		return s.consumer.explain(fmt.Errorf("clearing %s: %w", topic, err))
	}
	sk, err = s.consumer.listen(ctx, topic)
	if err != nil {
		return err
	}
	defer sk.stop()
	if m := sk.within(ctx, s.quiet()); m != nil {
		return fmt.Errorf("an empty retained publish did not clear %s: got %q", topic, m.Payload)
	}
	return nil
}

// checkFreeSubscribeOptions: no-local, retain-as-published, retain
// handling 2 and subscription identifiers on a free topic
// [MQTT-3.8.3-3] [MQTT-3.3.1-12] [MQTT-3.3.1-13] [MQTT-3.3.1-11]
// [MQTT-3.3.4-3].
func (s *suite) checkFreeSubscribeOptions(ctx context.Context) error {
	topic := s.freeTopic("options", "x")
	if _, err := s.consumer.pc.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: []byte("old")}); err != nil {
		return s.consumer.explain(fmt.Errorf("retained publish on %s: %w", topic, err))
	}
	defer func() {
		_, _ = s.consumer.pc.Publish(context.WithoutCancel(ctx), &paho.Publish{Topic: topic, QoS: 1, Retain: true})
	}()
	sk := &sink{c: s.consumer, filter: topic, ch: make(chan *paho.Publish, 64)}
	s.consumer.mu.Lock()
	s.consumer.sinks[sk] = struct{}{}
	s.consumer.mu.Unlock()
	defer sk.stop()
	subID := 77
	sa, err := s.consumer.pc.Subscribe(ctx, &paho.Subscribe{
		Properties:    &paho.SubscribeProperties{SubscriptionIdentifier: &subID},
		Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 1, NoLocal: true, RetainAsPublished: true, RetainHandling: 2}},
	})
	if err != nil {
		if sa != nil && len(sa.Reasons) > 0 {
			return fmt.Errorf("subscribing to %s: SUBACK reason code %#x", topic, sa.Reasons[0])
		}
		return s.consumer.explain(err)
	}
	// Retain handling 2: the retained "old" is not sent. No-local: the
	// consumer's own publish is not sent back to it.
	if err := s.consumer.mustPublish(ctx, topic, []byte("own"), nil); err != nil {
		return err
	}
	if m := sk.within(ctx, s.quiet()); m != nil {
		return fmt.Errorf("got %q: retain handling 2 or no-local not honoured", m.Payload)
	}
	other, err := dial(ctx, s.cfg.Broker, "wotmq-conformance-free-"+s.suffix, s.cfg.Username, s.cfg.Password, s.cfg.Timeout)
	if err != nil {
		return fmt.Errorf("a second client: %w", err)
	}
	defer other.close()
	if _, err := other.pc.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Retain: true, Payload: []byte("new")}); err != nil {
		return other.explain(err)
	}
	m, err := sk.next(ctx)
	if err != nil {
		return err
	}
	switch {
	case string(m.Payload) != "new":
		return fmt.Errorf("got %q, want \"new\"", m.Payload)
	case !m.Retain:
		return fmt.Errorf("retain-as-published: the retain flag was cleared")
	case m.Properties == nil || m.Properties.SubscriptionIdentifier == nil || *m.Properties.SubscriptionIdentifier != subID:
		return fmt.Errorf("subscription identifier %d missing: %+v", subID, m.Properties)
	}
	return nil
}

// checkDollarOutOfWildcards: "#" receives neither the hub's retained TD
// nor any other topic starting with "$", and the hub TD is retained on
// wot.HubTDTopic [MQTT-4.7.2-1].
func (s *suite) checkDollarOutOfWildcards(ctx context.Context) error {
	sk, err := s.consumer.listen(ctx, "#")
	if err != nil {
		return err
	}
	defer sk.stop()
	marker := s.freeTopic("dollar", "marker")
	if err := s.consumer.mustPublish(ctx, marker, []byte("m"), nil); err != nil {
		return err
	}
	deadline := time.Now().Add(s.cfg.Timeout)
	for time.Now().Before(deadline) {
		m, err := sk.next(ctx)
		if err != nil {
			return err
		}
		if m.Topic == marker {
			return nil
		}
		if m.Topic == wot.LegacyHubTDTopic || (len(m.Topic) > 0 && m.Topic[0] == '$') {
			return fmt.Errorf("a subscription to # received %s", m.Topic)
		}
	}
	return fmt.Errorf("no marker on %s", marker)
}
