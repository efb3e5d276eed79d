package packets

import (
	"bytes"
	"errors"
	"testing"
)

// wotmq patches of the decoder: each rule MQTT 5 states for a packet the
// server reads, with the code the server answers (0x81 malformed packet,
// 0x82 protocol error).

func wotmqCode(t *testing.T, err error) byte {
	t.Helper()
	var code Code
	if !errors.As(err, &code) {
		t.Fatalf("error %v carries no reason code", err)
	}
	return code.Code
}

func TestWotmqPropertyRules(t *testing.T) {
	u32 := func(id byte, v uint32) []byte { return []byte{id, byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)} }
	u16 := func(id byte, v uint16) []byte { return []byte{id, byte(v >> 8), byte(v)} }
	props := func(ps ...[]byte) []byte {
		all := bytes.Join(ps, nil)
		return append([]byte{byte(len(all))}, all...)
	}
	user := append(append([]byte{38}, 0, 1, 'k'), 0, 1, 'v')
	for _, tc := range []struct {
		name string
		pkt  byte
		b    []byte
		code byte // 0: accepted
	}{
		{"DuplicateSessionExpiry", Connect, props(u32(17, 1), u32(17, 2)), 0x82}, // 3.1.2.11.2
		{"DuplicateReceiveMaximum", Connect, props(u16(33, 1), u16(33, 1)), 0x82},
		{"DuplicateContentType", Publish, props([]byte{3, 0, 1, 'a'}, []byte{3, 0, 1, 'b'}), 0x82},       // 3.3.2.3.9
		{"DuplicateUserPropertiesAllowed", Publish, props(user, user), 0},                                // 3.3.2.3.7
		{"TwoSubscriptionIdentifiersInSubscribe", Subscribe, props([]byte{11, 1}, []byte{11, 2}), 0x82},  // 3.8.2.1.2
		{"TwoSubscriptionIdentifiersInPublishToClient", Publish, props([]byte{11, 1}, []byte{11, 2}), 0}, // 3.3.2.3.8
		{"SubscriptionIdentifierZero", Subscribe, props([]byte{11, 0}), 0x82},                            // 3.8.2.1.2
		{"ReceiveMaximumZero", Connect, props(u16(33, 0)), 0x82},                                         // 3.1.2.11.3
		{"MaximumPacketSizeZero", Connect, props(u32(39, 0)), 0x82},                                      // 3.1.2.11.4
		{"RequestProblemInfoTwo", Connect, props([]byte{23, 2}), 0x82},                                   // 3.1.2.11.7
		{"RequestResponseInfoTwo", Connect, props([]byte{25, 2}), 0x82},                                  // 3.1.2.11.6
		{"LengthPastPacket", Connect, []byte{9, 17, 0, 0, 0, 1}, 0x81},                                   // 2.2.2.1
		{"PropertyPastLength", Connect, append([]byte{3}, u32(17, 1)...), 0x81},                          // 2.2.2.1
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p Properties
			_, err := p.Decode(tc.pkt, bytes.NewBuffer(tc.b))
			switch {
			case tc.code == 0 && err != nil:
				t.Errorf("refused: %v", err)
			case tc.code != 0 && err == nil:
				t.Errorf("accepted, want %#x", tc.code)
			case tc.code != 0 && wotmqCode(t, err) != tc.code:
				t.Errorf("%v: code %#x, want %#x", err, wotmqCode(t, err), tc.code)
			}
		})
	}
}

// TestWotmqProtocolErrorKeepsItsCode: a protocol error found in the
// properties of a packet is answered with 0x82, not with the 0x81 of
// "malformed properties" that wraps it.
func TestWotmqProtocolErrorKeepsItsCode(t *testing.T) {
	pk := Packet{FixedHeader: FixedHeader{Type: Subscribe, Qos: 1}, ProtocolVersion: 5}
	err := pk.SubscribeDecode([]byte{0, 1, 2, 11, 0, 0, 1, 'a', 1})
	if !errors.Is(err, ErrMalformedProperties) || wotmqCode(t, err) != 0x82 {
		t.Errorf("subscription identifier 0: %v (code %#x), want 0x82 wrapped in malformed properties", err, wotmqCode(t, err))
	}
	pk = Packet{FixedHeader: FixedHeader{Type: Connect}}
	b := []byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x06, 0, 0, 0, 0, 1, 'c', 3, 33, 0, 0, 0, 1, 't', 0, 1, 'p'}
	if err := pk.ConnectDecode(b); !errors.Is(err, ErrMalformedWillProperties) || wotmqCode(t, err) != 0x82 {
		t.Errorf("will properties with Receive Maximum: %v, want 0x82", err)
	}
}

func TestWotmqSubscribeOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    []byte
		want Code
	}{
		{"MissingOptionsByte", []byte{0, 1, 0, 0, 1, 'a'}, ErrMalformedSubscriptionOptions},           // used to panic (index out of range)
		{"ReservedBits", []byte{0, 1, 0, 0, 1, 'a', 0x41}, ErrMalformedSubscriptionOptions},           // [MQTT-3.8.3-5]
		{"RetainHandlingThree", []byte{0, 1, 0, 0, 1, 'a', 0x31}, ErrProtocolViolationRetainHandling}, // 3.8.3.1
		{"QoSThree", []byte{0, 1, 0, 0, 1, 'a', 0x03}, ErrProtocolViolationQosOutOfRange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pk := Packet{FixedHeader: FixedHeader{Type: Subscribe, Qos: 1}, ProtocolVersion: 5}
			if err := pk.SubscribeDecode(tc.b); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	pk := Packet{FixedHeader: FixedHeader{Type: Subscribe, Qos: 1}, ProtocolVersion: 5}
	if err := pk.SubscribeDecode([]byte{0, 1, 0, 0, 1, 'a', 0x2e}); err != nil || !pk.Filters[0].NoLocal || pk.Filters[0].RetainHandling != 2 {
		t.Errorf("valid options: %v %+v", err, pk.Filters)
	}
}
