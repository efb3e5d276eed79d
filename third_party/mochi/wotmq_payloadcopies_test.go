package mqtt

import (
	"bytes"
	"runtime"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"
)

// TestWotmqReadPacketCopiesOnce: reading a PUBLISH allocates its bytes
// once (Mochi copied every packet a second time before decoding it).
func TestWotmqReadPacketCopiesOnce(t *testing.T) {
	cl, r, _ := newTestClient()
	defer cl.Stop(errClientStop)
	cl.Properties.ProtocolVersion = 5
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish}, ProtocolVersion: 5,
		TopicName: "a/b", Payload: bytes.Repeat([]byte("x"), 4096)}
	var raw bytes.Buffer
	require.NoError(t, pk.PublishEncode(&raw))
	const n = 50
	go func() {
		for i := 0; i < n; i++ {
			_, _ = r.Write(raw.Bytes())
		}
	}()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for i := 0; i < n; i++ {
		fh := new(packets.FixedHeader)
		require.NoError(t, cl.ReadFixedHeader(fh))
		got, err := cl.ReadPacket(fh)
		require.NoError(t, err)
		require.Len(t, got.Payload, 4096)
	}
	runtime.ReadMemStats(&after)
	if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 4096*3/2 {
		t.Fatalf("%d bytes allocated per 4 KiB PUBLISH read, want one copy", per)
	}
}

// TestWotmqDeliveryCopySharesPayload: the copy of a publish made for each
// subscriber is Copy(false)'s, with the payload shared.
func TestWotmqDeliveryCopySharesPayload(t *testing.T) {
	pk := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: 1, Retain: true}, PacketID: 9,
		TopicName: "a/b", Payload: []byte("payload"), Origin: "cl1", Created: 5,
		Properties: packets.Properties{User: []packets.UserProperty{{Key: "k", Val: "v"}}, ResponseTopic: "r"}}
	want := pk.Copy(false)
	got := copySharingPayload(&pk)
	require.Equal(t, want, got)
	require.Same(t, &pk.Payload[0], &got.Payload[0], "payload copied")
	require.Equal(t, []byte("payload"), pk.Payload, "the original's payload")
}
