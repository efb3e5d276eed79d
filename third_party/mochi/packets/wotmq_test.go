package packets

import (
	"bytes"
	"testing"
)

// TestWotmqConnectEmptyPasswordAndWillPayload: a CONNECT with the password
// flag and a zero-length password, or a Will with an empty payload, is
// valid MQTT 5 and 3.1.1 (both are Binary Data, which may be empty
// [MQTT-3.1.3-11]); Mochi refused both with 0x82. A Will topic must still
// be given [MQTT-4.7.3-1].
func TestWotmqConnectEmptyPasswordAndWillPayload(t *testing.T) {
	for _, ver := range []byte{4, 5} {
		for _, c := range []struct {
			name  string
			conn  ConnectParams
			valid bool
		}{
			{"EmptyPassword", ConnectParams{UsernameFlag: true, Username: []byte("u"), PasswordFlag: true}, true},
			{"EmptyWillPayload", ConnectParams{WillFlag: true, WillTopic: "t/w"}, true},
			{"WillWithoutTopic", ConnectParams{WillFlag: true, WillPayload: []byte("x")}, false},
		} {
			c.conn.ProtocolName = []byte("MQTT")
			c.conn.ClientIdentifier = "c"
			pk := Packet{FixedHeader: FixedHeader{Type: Connect}, ProtocolVersion: ver, Connect: c.conn}
			var buf bytes.Buffer
			if err := pk.ConnectEncode(&buf); err != nil {
				t.Fatal(err)
			}
			var fh FixedHeader
			b := buf.Bytes()
			if err := fh.Decode(b[0]); err != nil {
				t.Fatal(err)
			}
			got := Packet{FixedHeader: fh, ProtocolVersion: ver}
			if err := got.ConnectDecode(b[2:]); err != nil {
				t.Fatalf("v%d %s: decode: %v", ver, c.name, err)
			}
			code := got.ConnectValidate()
			if (code == CodeSuccess) != c.valid {
				t.Errorf("v%d %s: ConnectValidate = %v, want valid %v", ver, c.name, code, c.valid)
			}
		}
	}
}

// TestWotmqProblemInfoKeepsPublishUserProperties: a client that sets
// Request Problem Information to 0 still receives the User Properties of
// a PUBLISH, which are application data; only other packets lose them
// [MQTT-3.1.2-29]. Mochi stripped them from PUBLISH too, so a paho.golang
// client that sent ConnectProperties without the field lost every
// property the hub stamps (sender, status, action-id).
func TestWotmqProblemInfoKeepsPublishUserProperties(t *testing.T) {
	user := []UserProperty{{Key: "sender", Val: "agent-a"}}
	for _, c := range []struct {
		name string
		pk   Packet
		want bool
	}{
		{"Publish", Packet{FixedHeader: FixedHeader{Type: Publish}, TopicName: "a/b", Properties: Properties{User: user}}, true},
		{"Puback", Packet{FixedHeader: FixedHeader{Type: Puback}, PacketID: 1, ReasonCode: 0x97, Properties: Properties{User: user, ReasonString: "r"}}, false},
		{"Disconnect", Packet{FixedHeader: FixedHeader{Type: Disconnect}, ReasonCode: 0x87, Properties: Properties{User: user, ReasonString: "r"}}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.pk.ProtocolVersion = 5
			c.pk.Mods.DisallowProblemInfo = true
			var buf bytes.Buffer
			var err error
			switch c.pk.FixedHeader.Type {
			case Publish:
				err = c.pk.PublishEncode(&buf)
			case Puback:
				err = c.pk.PubackEncode(&buf)
			case Disconnect:
				err = c.pk.DisconnectEncode(&buf)
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := bytes.Contains(buf.Bytes(), []byte("agent-a")); got != c.want {
				t.Fatalf("user property encoded = %v, want %v (% x)", got, c.want, buf.Bytes())
			}
		})
	}
}
