package broker

import (
	"errors"
	"net"
	"sync"
	"testing"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"
)

// The fuzzers drive the hook directly; a QoS 1 publish is answered by the
// connection's pipeline, on its network connection, after OnPublish
// returned. fuzzPipedClient gives the fuzzers' client a connection whose
// other end decodes the PUBACKs, and fuzzPipelineAck waits for the next.

var fuzzAcks sync.Map // *mqtt.Client -> chan packets.Packet

// fuzzPipedClient returns a client of the hub on one end of a net.Pipe.
func fuzzPipedClient(tb testing.TB, h *Hub) *mqtt.Client {
	tb.Helper()
	ours, theirs := net.Pipe()
	cl := h.srv.NewClient(ours, "tcp", "fuzz-agent", false)
	cl.Properties.ProtocolVersion = 5
	rd := h.srv.NewClient(theirs, "tcp", "fuzz-agent-reader", false)
	rd.Properties.ProtocolVersion = 5
	acks := make(chan packets.Packet, 16)
	fuzzAcks.Store(cl, acks)
	go func() {
		for {
			var fh packets.FixedHeader
			if err := rd.ReadFixedHeader(&fh); err != nil {
				return
			}
			pk, err := rd.ReadPacket(&fh)
			if err != nil {
				return
			}
			if pk.FixedHeader.Type == packets.Puback {
				acks <- pk
			}
		}
	}()
	tb.Cleanup(func() { ours.Close(); theirs.Close(); fuzzAcks.Delete(cl) })
	return cl
}

// fuzzPipelineAck waits for the PUBACK of the client's last QoS 1 publish
// and returns what the hook would have returned for it: nil when it is
// a success, else its reason code with the reason string.
func fuzzPipelineAck(cl *mqtt.Client) error {
	v, ok := fuzzAcks.Load(cl)
	if !ok {
		return errors.New("fuzz client has no pipe")
	}
	select {
	case pk := <-v.(chan packets.Packet):
		if pk.ReasonCode < 0x80 {
			return nil
		}
		return packets.Code{Code: pk.ReasonCode, Reason: pk.Properties.ReasonString}
	case <-time.After(30 * time.Second): // a last-resort bound: the publish was never answered
		return errors.New("no PUBACK from the pipeline")
	}
}
