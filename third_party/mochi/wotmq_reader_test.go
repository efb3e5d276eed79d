package mqtt

import (
	"bytes"
	"io"
	"math/rand"
	"net"
	"testing"
)

// TestWotmqConnReader: the client's reader gives back the bytes sent, in
// any mix of packet sizes and write sizes, through ReadByte and Read as
// Mochi uses them; it holds a pooled buffer only while a client sends more
// than the small buffer takes, and none once the client is idle again.
func TestWotmqConnReader(t *testing.T) {
	ours, theirs := net.Pipe()
	defer ours.Close()
	defer theirs.Close()
	rng := rand.New(rand.NewSource(1))
	var sent bytes.Buffer
	for sent.Len() < 200_000 {
		n := rng.Intn(40)
		if rng.Intn(10) == 0 {
			n = rng.Intn(10_000)
		}
		for i := 0; i < n; i++ {
			sent.WriteByte(byte(rng.Intn(256)))
		}
	}
	want := sent.Bytes()
	go func() {
		rest := want
		for len(rest) > 0 {
			n := min(len(rest), 1+rng.Intn(6000))
			if _, err := theirs.Write(rest[:n]); err != nil {
				return
			}
			rest = rest[n:]
		}
	}()

	cr := newConnReader(ours, 4096)
	got := make([]byte, 0, len(want))
	chunk := rand.New(rand.NewSource(2))
	usedPool := false
	for len(got) < len(want) {
		if chunk.Intn(3) == 0 {
			c, err := cr.ReadByte()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, c)
		} else {
			p := make([]byte, min(len(want)-len(got), 1+chunk.Intn(9000)))
			if _, err := io.ReadFull(cr, p); err != nil {
				t.Fatal(err)
			}
			got = append(got, p...)
		}
		usedPool = usedPool || cr.pooled != nil
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the bytes read differ from the bytes sent")
	}
	if !usedPool {
		t.Error("a client sending in bursts never got a pooled buffer")
	}

	// Idle again: small packets, one at a time, are read without the pool.
	for i := 0; i < 3; i++ {
		go func() { _, _ = theirs.Write([]byte{0xC0, 0x00}) }()
		for j := 0; j < 2; j++ {
			if _, err := cr.ReadByte(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if cr.pooled != nil {
		t.Error("an idle client holds a pooled read buffer")
	}
}
