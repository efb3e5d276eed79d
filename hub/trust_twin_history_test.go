package hub_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/wot"
)

// twinFailedReply waits for the reply on topic and returns its status and
// error code.
func twinFailedReply(tb testing.TB, c *client, topic string) (string, string) {
	tb.Helper()
	m := twinNext(tb, c, topic)
	return userProp(m, wot.PropStatus), userProp(m, wot.PropError)
}

// twinNext is client.next reporting to tb (a subtest's), not to the test
// that dialled the client.
func twinNext(tb testing.TB, c *client, topic string) *paho.Publish {
	tb.Helper()
	deadline := time.After(30 * time.Second) // a failure bound only
	for {
		select {
		case m := <-c.Msgs:
			if m.Topic == topic {
				return m
			}
		case <-deadline:
			tb.Fatalf("%s: no message on %q", c.ID, topic)
			return nil
		}
	}
}

// TestHistoryQueryBounds: MQTT history queries are held to the bounds HTTP
// holds them to (one shared check), every refusal after the ResponseTopic
// is known is answered there as a failed reply as well as in the PUBACK,
// and numbers beyond float64 are refused as values.
func TestHistoryQueryBounds(t *testing.T) {
	h := startHub(t, t.TempDir(), withHTTP)
	registerLamp(t, h)
	c := dial(t, h, "app")
	c.subscribe("replies/app/#")
	web := newWeb(t, h)
	history := "things/" + lampID + "/history"

	t.Run("LimitOutOfRangeRefusedLikeHTTP", func(t *testing.T) {
		for i, limit := range []int{0, -1, 1001, 100000} {
			rt := fmt.Sprintf("replies/app/limit%d", i)
			rc, reason := c.publish(history, fmt.Appendf(nil, `{"limit":%d}`, limit), reply(rt, []byte("q")))
			if rc != 0x99 || !strings.Contains(reason, fmt.Sprintf("limit %d: want 1 to 1000", limit)) {
				t.Errorf("MQTT limit %d: %#x %q, want 0x99 invalid_payload (want 1 to 1000)", limit, rc, reason)
			}
			if st, code := twinFailedReply(t, c, rt); st != "failed" || code != string(wot.CodeInvalidPayload) {
				t.Errorf("MQTT limit %d: reply %s %s, want failed invalid_payload", limit, st, code)
			}
			if r := web.do("GET", lampPath+fmt.Sprintf("/history?limit=%d", limit), nil); r.status != 400 {
				t.Errorf("HTTP limit %d: %d, want 400", limit, r.status)
			}
		}
		c.mustPublish(history, []byte(`{"limit":1000}`), reply("replies/app/max", []byte("q")))
		if st, _ := twinFailedReply(t, c, "replies/app/max"); st != "completed" {
			t.Errorf("limit 1000: %s, want completed", st)
		}
	})

	t.Run("MalformedQueryGetsFailedReply", func(t *testing.T) {
		for i, q := range []string{`{"limit":`, `[]`, `{"cursor":"zz"}`} {
			rt := fmt.Sprintf("replies/app/bad%d", i)
			if rc, _ := c.publish(history, []byte(q), reply(rt, []byte("q"))); rc != 0x99 {
				t.Errorf("query %s: %#x, want 0x99", q, rc)
			}
			if st, code := twinFailedReply(t, c, rt); st != "failed" || code != string(wot.CodeInvalidPayload) {
				t.Errorf("query %s: reply %s %s, want failed invalid_payload", q, st, code)
			}
		}
	})

	t.Run("UnknownAffordanceGetsFailedReply", func(t *testing.T) {
		for i, topic := range []string{"things/" + lampID + "/events/nope/history", "things/" + lampID + "/actions/nope/history", "things/urn:nope/history"} {
			rt := fmt.Sprintf("replies/app/unknown%d", i)
			if rc, _ := c.publish(topic, nil, reply(rt, []byte("q"))); rc < 0x80 {
				t.Errorf("%s: %#x, want a refusal", topic, rc)
			}
			if st, code := twinFailedReply(t, c, rt); st != "failed" || code == "" {
				t.Errorf("%s: reply %s %q, want failed with a code", topic, st, code)
			}
		}
	})

	t.Run("NumberBeyondFloat64Refused", func(t *testing.T) {
		rc, reason := c.publish(wot.ActionTopic(lampID, "fade"), []byte(`{"to":5,"ms":1e400}`), reply("replies/app/fade", []byte("f")))
		if rc != 0x99 || !strings.Contains(reason, "$.ms: number 1e400 is out of range") {
			t.Errorf("fade with ms 1e400 (integer): %#x %q, want 0x99 out of range", rc, reason)
		}
	})
}
