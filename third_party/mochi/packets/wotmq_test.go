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
