package cluster

import (
	"testing"

	"github.com/nats-io/nats.go"
)

// FuzzClusterBusDecode: a bus message from a peer (or anyone who can
// publish on the subject) never panics the decoder, and what encodes
// decodes to itself.
func FuzzClusterBusDecode(f *testing.F) {
	b := &Bus{node: "n", subject: "wotmq.out"}
	seed := b.encode(Message{Topic: "things/x", Payload: []byte("1"), ResponseTopic: "r", CorrelationData: []byte{1},
		Expiry: 5, QoS: 1, UserProps: [][2]string{{"a", "b"}}})
	f.Add(seed.Header.Get(hdrTopic), seed.Header.Get(hdrResponse), seed.Header.Get(hdrCorrelation), "1", "5", seed.Header.Get(hdrUser))
	f.Add("", "", "", "", "", "")
	f.Add("!!", "==", "%", "9", "-1", "=")
	f.Fuzz(func(t *testing.T, topic, resp, corr, qos, exp, user string) {
		h := nats.Header{}
		h.Set(hdrNode, "m")
		h.Set(hdrTopic, topic)
		h.Set(hdrResponse, resp)
		h.Set(hdrCorrelation, corr)
		h.Set(hdrQoS, qos)
		h.Set(hdrExpiry, exp)
		h.Add(hdrUser, user)
		m, err := decode(&nats.Msg{Header: h})
		if err != nil {
			return
		}
		m2, err := decode(b.encode(m))
		if err != nil || m2.Topic != m.Topic || m2.ResponseTopic != m.ResponseTopic || string(m2.CorrelationData) != string(m.CorrelationData) {
			t.Fatalf("round trip: %+v -> %+v, %v", m, m2, err)
		}
	})
}
