package mqtt

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"runtime"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"
)

// wotmq patches of the server: the reason a packet could not be read
// reaches the client (CONNACK or DISCONNECT with 0x81, 0x82, 0x95), topic
// aliases are bounded and announced, and a client's subscriptions capped.

// wotmqConn connects an MQTT 5 client over a pipe with the given CONNECT
// properties and returns the client's end.
func wotmqConn(t *testing.T, s *Server, props []byte) (net.Conn, *bufio.Reader) {
	t.Helper()
	r, w := net.Pipe() // the caller closes w before the server (Close waits for its clients)
	go func() { _ = s.EstablishConnection("tcp", r) }()
	body := append([]byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0}, props...)
	body = append(body, 0, 1, 'c')
	go func() { _, _ = w.Write(append([]byte{packets.Connect << 4, byte(len(body))}, body...)) }()
	return w, bufio.NewReader(w)
}

// wotmqRead reads one packet from the server (io.EOF once it closed).
func wotmqRead(t *testing.T, c net.Conn, br *bufio.Reader) (packets.Packet, error) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	b, err := br.ReadByte()
	if err != nil {
		return packets.Packet{}, err
	}
	pk := packets.Packet{ProtocolVersion: 5}
	if err := pk.FixedHeader.Decode(b); err != nil {
		t.Fatal(err)
	}
	n, _, err := packets.DecodeLength(br)
	if err != nil {
		t.Fatal(err)
	}
	pk.FixedHeader.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(br, body); err != nil {
		t.Fatal(err)
	}
	switch pk.FixedHeader.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Unsuback:
		err = pk.UnsubackDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Pubrec:
		err = pk.PubrecDecode(body)
	case packets.Pubcomp:
		err = pk.PubcompDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	}
	if err != nil {
		t.Fatal(err)
	}
	return pk, nil
}

func wotmqExpect(t *testing.T, c net.Conn, br *bufio.Reader, typ, code byte) packets.Packet {
	t.Helper()
	pk, err := wotmqRead(t, c, br)
	if err != nil || pk.FixedHeader.Type != typ || pk.ReasonCode != code {
		t.Fatalf("got %+v code %#x %q %v, want type %d code %#x", pk.FixedHeader, pk.ReasonCode, pk.Properties.ReasonString, err, typ, code)
	}
	return pk
}

func TestWotmqMalformedConnectGetsConnack(t *testing.T) {
	s := newServer()
	defer s.Close()
	c, br := wotmqConn(t, s, []byte{3, 33, 0, 0}) // Receive Maximum 0: 3.1.2.11.3
	defer c.Close()
	ack := wotmqExpect(t, c, br, packets.Connack, 0x82)
	if ack.Properties.ReasonString == "" {
		t.Error("no reason string")
	}
	if _, err := wotmqRead(t, c, br); err != io.EOF {
		t.Errorf("connection still open: %v", err)
	}
}

func TestWotmqReadErrorGetsDisconnect(t *testing.T) {
	s := newServer()
	s.Options.Capabilities.MaximumPacketSize = 64
	s.Options.Capabilities.ReceiveMaximum = 10
	defer s.Close()
	for _, tc := range []struct {
		name   string
		packet []byte
		code   byte
	}{
		{"DuplicateProperty", []byte{0x30, 9, 0, 1, 'a', 4, 1, 0, 1, 0, 'x'}, 0x82},                // 3.3.2.3.2
		{"MalformedSubscribe", []byte{0x82, 6, 0, 1, 0, 0, 1, 'a'}, 0x81},                          // options byte missing
		{"PacketTooLarge", append([]byte{0x30, 100}, make([]byte, 100)...), 0x95},                  // [MQTT-3.2.2-15]
		{"UnknownTopicAlias", []byte{0x30, 8, 0, 0, 3, 35, 0, 1, 'x', 'y'}, 0x82},                  // 3.3.2.3.4
		{"AliasAboveMaximum", []byte{0x30, 10, 0, 1, 'a', 3, 35, 0xff, 0xff, 'x', 'y', 'z'}, 0x94}, // [MQTT-3.3.2-9]
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "AliasAboveMaximum" {
				s.Options.Capabilities.TopicAliasMaximum = 10
				defer func() { s.Options.Capabilities.TopicAliasMaximum = 65535 }()
			}
			c, br := wotmqConn(t, s, []byte{0})
			defer c.Close()
			wotmqExpect(t, c, br, packets.Connack, 0)
			go func() { _, _ = c.Write(tc.packet) }()
			d := wotmqExpect(t, c, br, packets.Disconnect, tc.code)
			if d.Properties.ReasonString == "" {
				t.Error("no reason string")
			}
		})
	}
}

func TestWotmqAnnounceLimits(t *testing.T) {
	s := newServer()
	defer s.Close()
	s.Options.Capabilities.AnnounceLimits = true
	s.Options.Capabilities.TopicAliasMaximum = 10
	s.Options.Capabilities.MaximumPacketSize = 4096
	c, br := wotmqConn(t, s, []byte{0})
	defer c.Close()
	ack := wotmqExpect(t, c, br, packets.Connack, 0)
	if ack.Properties.TopicAliasMaximum != 10 || ack.Properties.MaximumPacketSize != 4096 {
		t.Errorf("CONNACK announces alias maximum %d, packet size %d", ack.Properties.TopicAliasMaximum, ack.Properties.MaximumPacketSize)
	}
}

func TestWotmqMaximumSubscriptions(t *testing.T) {
	s := newServer()
	defer s.Close()
	s.Options.Capabilities.MaximumSubscriptions = 2
	c, br := wotmqConn(t, s, []byte{0})
	defer c.Close()
	wotmqExpect(t, c, br, packets.Connack, 0)
	// a, b, c in one SUBSCRIBE, then a again.
	go func() {
		_, _ = c.Write([]byte{0x82, 15, 0, 1, 0, 0, 1, 'a', 1, 0, 1, 'b', 1, 0, 1, 'c', 1})
		_, _ = c.Write([]byte{0x82, 7, 0, 2, 0, 0, 1, 'a', 0})
	}()
	sa := wotmqExpect(t, c, br, packets.Suback, 0)
	if string(sa.ReasonCodes) != string([]byte{1, 1, 0x97}) || sa.Properties.ReasonString == "" {
		t.Errorf("SUBACK %v %q, want [1 1 0x97] with a reason", sa.ReasonCodes, sa.Properties.ReasonString)
	}
	if sa = wotmqExpect(t, c, br, packets.Suback, 0); string(sa.ReasonCodes) != string([]byte{0}) {
		t.Errorf("resubscription: %v", sa.ReasonCodes)
	}
}

// TestWotmqCloseWhileConnectionsEnd closes servers while a connection
// waits for its CONNECT on a TCP socket (run with -race): the WaitGroup Add
// of a connection was not synchronized with the Wait in Close, and the
// race detector reported it whenever a connection ended as the server
// closed.
func TestWotmqCloseWhileConnectionsEnd(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for i := 0; i < 20; i++ {
		s := newServer()
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		sc, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() {
			_ = s.EstablishConnection("tcp", sc)
			close(done)
		}()
		// Let the connection start reading without synchronizing with it
		// (any synchronization would hide the race).
		for j := 0; j < 1000; j++ {
			runtime.Gosched()
		}
		go func() { _ = c.Close() }() // ends the connection while Close waits
		_ = s.Close()
		<-done
	}
}

// TestWotmqLiteralRetained: a retained message on a topic named in
// Capabilities.LiteralRetained reaches a subscription naming the topic,
// not one whose wildcards match it (the hub keeps its TD's old topic so).
func TestWotmqLiteralRetained(t *testing.T) {
	s := newServer()
	s.Options.Capabilities.LiteralRetained = map[string]bool{"hub/td": true}
	defer s.Close()
	s.Topics.RetainMessage(packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: "hub/td", Payload: []byte("the-td")})
	s.Topics.RetainMessage(packets.Packet{ProtocolVersion: 5, FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: "hub/other", Payload: []byte("the-other")})
	for _, tc := range []struct {
		filter    string
		td, other bool
	}{
		{"hub/td", true, false},
		{"hub/+", false, true},
		{"#", false, true},
	} {
		cl, _, _ := newTestClient()
		cl.State.outMu.Lock()
		cl.State.outWriting = true // no writer: the queue keeps what was sent
		cl.State.outMu.Unlock()
		s.publishRetainedToClient(cl, packets.Subscription{Filter: tc.filter}, false)
		var td, other bool
		for _, pk := range cl.State.outQueue {
			td = td || pk.TopicName == "hub/td"
			other = other || pk.TopicName == "hub/other"
		}
		if td != tc.td || other != tc.other {
			t.Errorf("%s: got the TD %v, the other %v; want %v, %v", tc.filter, td, other, tc.td, tc.other)
		}
	}
}

// TestWotmqDollarRetainedOutOfWildcards: a retained message on any topic
// starting with "$" (not only $SYS) is not sent to a filter starting with a
// wildcard [MQTT-4.7.2-1]; Mochi skipped $SYS alone, so "#" received the
// hub's $wotmq/td.
func TestWotmqDollarRetainedOutOfWildcards(t *testing.T) {
	x := NewTopicsIndex()
	for _, topic := range []string{"$hub/td", "$SYS/x", "a/b"} {
		x.RetainMessage(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: true}, TopicName: topic, Payload: []byte("x")})
	}
	for filter, want := range map[string][]string{"#": {"a/b"}, "+/+": {"a/b"}, "+/td": nil, "$hub/td": {"$hub/td"}, "$hub/#": {"$hub/td"}} {
		var got []string
		for _, pk := range x.Messages(filter) {
			got = append(got, pk.TopicName)
		}
		if len(got) != len(want) || (len(want) > 0 && got[0] != want[0]) {
			t.Errorf("Messages(%q) = %v, want %v", filter, got, want)
		}
	}
}

// TestWotmqDisconnectReachesClientWithUnreadInput: a DISCONNECT with a
// reason reaches a client that had sent more than the server read. Before
// the patch the server closed the socket with input unread, the kernel
// answered with a reset, and the client's stack dropped the DISCONNECT.
func TestWotmqDisconnectReachesClientWithUnreadInput(t *testing.T) {
	s := newServer()
	defer s.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ended := make(chan struct{})
	go func() {
		c, err := ln.Accept()
		if err == nil {
			_ = s.EstablishConnection("tcp", c)
		}
		close(ended)
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	br := bufio.NewReader(c)
	body := []byte{0, 4, 'M', 'Q', 'T', 'T', 5, 0x02, 0, 0, 0, 0, 1, 'c'}
	if _, err := c.Write(append([]byte{packets.Connect << 4, byte(len(body))}, body...)); err != nil {
		t.Fatal(err)
	}
	wotmqExpect(t, c, br, packets.Connack, 0)
	// A PUBLISH with a reserved QoS 3 (malformed), then input the server
	// never reads.
	junk := append([]byte{packets.Publish<<4 | 6, 4, 0, 1, 'a', 0}, bytes.Repeat([]byte{0}, 64<<10)...)
	if _, err := c.Write(junk); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for s.Clients.Len() > 0 && time.Now().Before(deadline) {
		runtime.Gosched() // until the server has ended the client (and closed, before the patch)
	}
	for cl := range s.Clients.GetAll() {
		t.Fatalf("client %s still there", cl)
	}
	// The client, not having read the DISCONNECT yet, answers what it
	// had received (as a client acknowledging PUBRECs does), then reads.
	if _, err := c.Write([]byte{packets.Pingreq << 4, 0}); err != nil {
		t.Fatalf("the client's write after the server ended it: %v", err)
	}
	pk, err := wotmqRead(t, c, br)
	if err != nil || pk.FixedHeader.Type != packets.Disconnect || pk.ReasonCode < 0x80 {
		t.Fatalf("got %+v code %#x, %v; want a DISCONNECT with a reason", pk.FixedHeader, pk.ReasonCode, err)
	}
	<-ended
}
