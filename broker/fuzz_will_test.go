package broker

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wot"
)

// FuzzWill feeds CONNECTs with Wills (topic, payload, QoS, retain, Will
// properties, MQTT 3.1.1 and 5) through Mochi's decoder and validation and
// then the hub's Will rule (will.go), as three accounts: a refusal is a
// CONNACK a client can act on ("will: ..." with a CONNACK reason code),
// and an accepted Will, sent as the account's publish, is handled or
// refused with a wire code, never an internal error.
func FuzzWill(f *testing.F) {
	for _, s := range []struct {
		who, ver     uint8
		topic        string
		payload      []byte
		qos          uint8
		retain       bool
		delay        uint32
		key, val, rt string
	}{
		{0, 1, "agents/fuzz-agent/things/" + fuzzLampID + "/events/overheating", []byte("81.5"), 1, false, 0, "sender", "admin", ""},
		{0, 0, "agents/fuzz-agent/things/" + fuzzLampID + "/presence", []byte(`"lost"`), 0, true, 5, "", "", ""},
		{1, 1, "agents/fuzz-agent/requests", []byte(`{"to":1}`), 1, false, 0, "op", "invokeaction", ""},
		{1, 1, "things/" + fuzzLampID + "/properties/brightness", []byte("1"), 1, true, 0, "action-id", "18ea17be8a066596", ""},
		{2, 1, "wotmq/td", []byte("{}"), 0, true, 0, "", "", ""},
		{1, 1, "replies/other/x", []byte("x"), 2, false, 0, "", "", ""},
		{0, 1, "things/" + fuzzLampID + "/actions/fade", []byte(`{"to":30}`), 1, false, 0, "", "", "replies/fuzz-agent/w"},
		{0, 1, "wotmq/admin", []byte(`{"op":"token"}`), 1, false, 0, "", "", "replies/fuzz-agent/a"},
		{0, 1, "agents/fuzz-agent/things/" + fuzzLampID + "/events/overheating", nil, 1, false, 0, "", "", ""},
		{1, 0, "a/+/#", []byte("x"), 1, false, 0, "", "", ""},
		{0, 1, "$SYS/x", []byte("x"), 0, false, 0, "", "", ""},
	} {
		f.Add(s.who, s.ver, s.topic, s.payload, s.qos, s.retain, s.delay, s.key, s.val, s.rt)
	}
	h, _ := fuzzHub(f)
	ids := []authz.Identity{
		{ID: "fuzz-agent", Role: authz.RoleService, Anonymous: true},
		{ID: "fuzz-viewer", Role: authz.RoleViewer},
		{ID: "fuzz-agent", Role: authz.RoleAgent},
	}
	f.Fuzz(func(t *testing.T, who, ver uint8, topic string, payload []byte, qos uint8, retain bool, delay uint32, key, val, rt string) {
		pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 4 + ver%2,
			Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "fuzz-will",
				WillFlag: true, WillTopic: topic, WillPayload: payload, WillQos: qos % 4, WillRetain: retain}}
		if pk.ProtocolVersion == 5 {
			pk.Connect.WillProperties.WillDelayInterval = delay
			pk.Connect.WillProperties.ResponseTopic = rt
			if key != "" {
				pk.Connect.WillProperties.User = []packets.UserProperty{{Key: key, Val: val}}
			}
		}
		var buf bytes.Buffer
		if err := pk.ConnectEncode(&buf); err != nil {
			return
		}
		// As Mochi reads it from the network.
		r := bytes.NewReader(buf.Bytes())
		b, _ := r.ReadByte()
		var fh packets.FixedHeader
		if err := fh.Decode(b); err != nil {
			t.Fatal(err)
		}
		if _, _, err := packets.DecodeLength(r); err != nil {
			return
		}
		body := buf.Bytes()[len(buf.Bytes())-r.Len():]
		got := packets.Packet{FixedHeader: fh}
		if err := got.ConnectDecode(body); err != nil || got.ConnectValidate() != packets.CodeSuccess {
			return // Mochi refuses it before the hub
		}
		id := ids[int(who)%len(ids)]
		w, err := h.decideWill(id, got)
		if err != nil {
			var wr *willRefusal
			if !errors.As(err, &wr) {
				t.Fatalf("refusal %v is not a Will refusal", err)
			}
			switch c := wr.code(); c.Code {
			case 0x87, 0x90, 0x97, 0x99: // CONNACK codes [MQTT-3.2.2.2]
				if !strings.HasPrefix(c.Reason, "will: ") {
					t.Fatalf("reason %q", c.Reason)
				}
			default:
				t.Fatalf("CONNACK %#x %q for a Will on %q", c.Code, c.Reason, topic)
			}
			return
		}
		if id.Role == authz.RoleViewer && !strings.HasPrefix(topic, "things/") && topic != authz.AdminTopic {
			t.Fatalf("viewer's Will on %q accepted", topic)
		}
		if !h.enter() {
			t.Fatal("hub closed")
		}
		defer h.leave()
		send := w.pk
		err = h.admitWrite(&send, classify(send.TopicName))
		if err == nil {
			_, err = h.core.Publish(context.Background(), id, nil, fromPacket(&send))
		}
		if err != nil && (wot.CodeOf(err) == wot.CodeInternal || !wot.CodeOf(err).Known()) {
			t.Fatalf("Will on %q: %v", topic, err)
		}
	})
}
