package mqtt

import (
	"net"
	"testing"

	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/stretchr/testify/require"
)

// TestWotmqBuffered: a hook on the read goroutine can tell whether more of
// the client's packets were read already (Client.Buffered).
func TestWotmqBuffered(t *testing.T) {
	s := New(nil)
	ours, theirs := net.Pipe()
	defer ours.Close()
	defer theirs.Close()
	cl := s.NewClient(ours, "tcp", "buffered", false)
	require.Equal(t, 0, cl.Buffered())
	cl.Net.bconn = nil
	require.Equal(t, 0, cl.Buffered(), "no reader yet")

	cl = s.NewClient(ours, "tcp", "buffered", false)
	two := []byte{0xC0, 0x00, 0xC0, 0x00} // two PINGREQs in one write
	go func() { _, _ = theirs.Write(two) }()
	var fh packets.FixedHeader
	require.NoError(t, cl.ReadFixedHeader(&fh))
	require.Equal(t, packets.Pingreq, fh.Type)
	require.Equal(t, 2, cl.Buffered(), "the second PINGREQ is at hand")
	require.NoError(t, cl.ReadFixedHeader(&fh))
	require.Equal(t, 0, cl.Buffered())
}
