package hubtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"

	"github.com/mochi-mqtt/server/v2/packets"
)

// ErrMalformed is wrapped by ReadPacket's error when a packet arrived
// whole but does not decode (as opposed to a connection that ended).
var ErrMalformed = errors.New("hubtest: malformed packet")

// WritePacket encodes pk with Mochi's encoders, in its ProtocolVersion (5
// when 0), and writes it to w: for tests that send what a client library
// would not (MQTT 3.1.1, forged properties, a client that never reads).
// It encodes CONNECT, SUBSCRIBE, PUBLISH, PUBACK, PINGREQ and DISCONNECT.
func WritePacket(w io.Writer, pk packets.Packet) error {
	if pk.ProtocolVersion == 0 {
		pk.ProtocolVersion = 5
	}
	var buf bytes.Buffer
	var err error
	switch pk.FixedHeader.Type {
	case packets.Connect:
		err = pk.ConnectEncode(&buf)
	case packets.Subscribe:
		err = pk.SubscribeEncode(&buf)
	case packets.Publish:
		err = pk.PublishEncode(&buf)
	case packets.Puback:
		err = pk.PubackEncode(&buf)
	case packets.Pingreq:
		err = pk.PingreqEncode(&buf)
	case packets.Disconnect:
		err = pk.DisconnectEncode(&buf)
	default:
		err = fmt.Errorf("hubtest: cannot encode packet type %v", pk.FixedHeader.Type)
	}
	if err != nil {
		return err
	}
	_, err = w.Write(buf.Bytes())
	return err
}

// ReadPacket reads one packet of the given protocol version (5, or 4 for
// MQTT 3.1.1) from r. It decodes CONNACK, SUBACK, PUBACK, PUBLISH and
// DISCONNECT; of any other packet only the fixed header. An error that
// wraps ErrMalformed means the packet arrived and did not decode; any
// other, that reading failed (the connection ended, a deadline passed).
func ReadPacket(r *bufio.Reader, version byte) (packets.Packet, error) {
	b, err := r.ReadByte()
	if err != nil {
		return packets.Packet{}, err
	}
	var fh packets.FixedHeader
	if err := fh.Decode(b); err != nil {
		return packets.Packet{}, fmt.Errorf("%w: fixed header %#x: %v", ErrMalformed, b, err)
	}
	n, _, err := packets.DecodeLength(r)
	if err != nil {
		return packets.Packet{}, err
	}
	fh.Remaining = n
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return packets.Packet{}, err
	}
	pk := packets.Packet{FixedHeader: fh, ProtocolVersion: version}
	switch fh.Type {
	case packets.Connack:
		err = pk.ConnackDecode(body)
	case packets.Suback:
		err = pk.SubackDecode(body)
	case packets.Puback:
		err = pk.PubackDecode(body)
	case packets.Publish:
		err = pk.PublishDecode(body)
	case packets.Disconnect:
		err = pk.DisconnectDecode(body)
	}
	if err != nil {
		return pk, fmt.Errorf("%w: %v: %v", ErrMalformed, fh.Type, err)
	}
	return pk, nil
}
