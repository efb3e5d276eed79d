package broker

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// FuzzWire sends a CONNECT with arbitrary properties, then arbitrary
// bytes (PUBLISH with topic aliases, SUBSCRIBE with options and
// subscription identifiers, anything), to a real hub over a raw socket, and
// decodes the same bytes with the patched Mochi decoder. Neither may panic
// (a malformed SUBSCRIBE once took the whole hub down), the hub must close
// the connection once the client has sent everything, and a new client must
// still connect.
func FuzzWire(f *testing.F) {
	u16 := func(id byte, v uint16) []byte { return []byte{id, byte(v >> 8), byte(v)} }
	str := func(s string) []byte { return append([]byte{byte(len(s) >> 8), byte(len(s))}, s...) }
	frame := func(first byte, body ...[]byte) []byte {
		b := bytes.Join(body, nil)
		return append(append([]byte{first}, wireVarint(len(b))...), b...)
	}
	for _, s := range []struct{ props, packet []byte }{
		{nil, nil},
		{[]byte{17, 0, 0, 0, 10}, frame(0x32, str("agents/fuzz-wire/things/urn:x/events/e"), []byte{0, 1, 3}, u16(35, 1), []byte("1"))},
		{u16(34, 5), frame(0x30, str(""), []byte{3}, u16(35, 1), []byte("x"))}, // unknown alias
		{nil, frame(0x30, str("a"), []byte{3}, u16(35, 11), []byte("x"))},      // alias over the maximum
		{u16(33, 0), nil},                                                                    // Receive Maximum 0
		{[]byte{39, 0, 0, 0, 0}, nil},                                                        // Maximum Packet Size 0
		{[]byte{17, 0, 0, 0, 1, 17, 0, 0, 0, 2}, nil},                                        // duplicate property
		{nil, frame(0x82, []byte{0, 1, 0}, str("things/x/td"))},                              // no options byte
		{nil, frame(0x82, []byte{0, 1, 2, 11, 0}, str("things/x/td"), []byte{1})},            // subscription identifier 0
		{nil, frame(0x82, []byte{0, 1, 0}, str("$share/g/things/+/events/e"), []byte{0xC1})}, // reserved option bits
		{nil, frame(0xA2, []byte{0, 1, 0}, str("$share/g/things/+/events/e"))},
		{[]byte{38, 0, 1, 'k', 0, 1, 'v', 38, 0, 1, 'k', 0, 1, 'v'}, frame(0xE0, []byte{0x04, 0})},
	} {
		f.Add(s.props, s.packet)
	}
	h, _ := fuzzHub(f)
	f.Fuzz(func(t *testing.T, props, packet []byte) {
		if len(props) > 1<<12 || len(packet) > 1<<16 {
			return
		}
		body := bytes.Join([][]byte{str("MQTT"), {5, 0x02, 0, 0}, wireVarint(len(props)), props, str("fuzz-wire")}, nil)
		connect := frame(0x10, body)
		wireDecode(body, packet)

		c, err := net.Dial("tcp", h.MQTTAddr())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write(append(connect, packet...)); err != nil {
			return // the hub closed the connection already
		}
		_ = c.(*net.TCPConn).CloseWrite()
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.Copy(io.Discard, c); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatal("the hub kept the connection open after the client's end closed")
			}
		}
		wireProbe(t, h)
	})
}

// wireDecode decodes a CONNECT and the packets that follow it as Mochi
// would; only a panic matters.
func wireDecode(connect, rest []byte) {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}}
	if pk.ConnectDecode(connect) == nil {
		_ = pk.ConnectValidate()
	}
	br := bufio.NewReader(bytes.NewReader(rest))
	for {
		b, err := br.ReadByte()
		if err != nil {
			return
		}
		fh := packets.FixedHeader{}
		if fh.Decode(b) != nil {
			return
		}
		n, _, err := packets.DecodeLength(br)
		if err != nil {
			return
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(br, body); err != nil {
			return
		}
		pk := packets.Packet{FixedHeader: fh, ProtocolVersion: 5}
		pk.FixedHeader.Remaining = n
		switch fh.Type {
		case packets.Publish:
			if pk.PublishDecode(body) == nil {
				_ = pk.PublishValidate(TopicAliasMaximum)
			}
		case packets.Subscribe:
			if pk.SubscribeDecode(body) == nil {
				_ = pk.SubscribeValidate()
			}
		case packets.Unsubscribe:
			_ = pk.UnsubscribeDecode(body)
		case packets.Puback, packets.Pubrec, packets.Pubrel, packets.Pubcomp:
			_ = pk.PubackDecode(body)
		case packets.Disconnect:
			_ = pk.DisconnectDecode(body)
		case packets.Auth:
			_ = pk.AuthDecode(body)
		}
	}
}

// wireProbe checks that a new client still connects.
func wireProbe(t *testing.T, h *Hub) {
	t.Helper()
	c, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		t.Fatalf("the hub no longer accepts connections: %v", err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := c.Write([]byte{0x10, 16, 0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 0, 0, 3, 'p', 'r', 'b'}); err != nil {
		t.Fatal(err)
	}
	ack := make([]byte, 4)
	if _, err := io.ReadFull(c, ack); err != nil || ack[0] != 0x20 || ack[3] != 0 {
		t.Fatalf("probe CONNACK % x: %v", ack, err)
	}
}

func wireVarint(n int) []byte {
	var b []byte
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
