package hub_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wot"
)

// TestReconnectKeepsSubscriptions reconnects a client with the same ID as
// fast as it can, subscribing each time: every connection receives what it
// subscribed to. Mochi's cleanup of the previous connection used to remove
// the new one now and then (found by the soak test); the patched Mochi
// keeps it (mqtt.TestWotmqQuickReconnect, docs/architecture.md).
func TestReconnectKeepsSubscriptions(t *testing.T) {
	h := startOpsHub(t)
	agent := registerLamp(t, h)
	topic := wot.EventTopic(lampID, "overheating")
	n := 1000
	if testing.Short() {
		n = 100
	}
	for i := range n {
		c := dial(t, h, "same-id")
		c.subscribe(topic)
		got := false
		tick := time.NewTicker(50 * time.Millisecond)
		deadline := time.After(30 * time.Second)
		for !got {
			agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(fmt.Sprint(i)), nil)
			select {
			case <-c.Msgs:
				got = true
			case <-tick.C:
			case <-deadline:
				t.Fatalf("reconnect %d: the subscription delivers nothing", i)
			}
		}
		tick.Stop()
		_ = c.Disconnect(&paho.Disconnect{})
	}
}
