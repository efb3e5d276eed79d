package main

import (
	"bytes"
	"testing"
)

// FuzzVP8KeyFrameSize: any RTP payload a peer sends is read without a
// panic, and a size is within VP8's 14 bits and comes only with a key
// frame's start code.
func FuzzVP8KeyFrameSize(f *testing.F) {
	f.Add([]byte{0x10, 0x50, 0x2b, 0x01, 0x9d, 0x01, 0x2a, 0x40, 0x41, 0xf0, 0x00})             // a 320x240 key frame
	f.Add([]byte{0x90, 0x80, 0x7f, 0x50, 0x2b, 0x01, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0xe0, 0x01}) // with a picture ID
	f.Add([]byte{0x10, 0x51, 0x2b, 0x01})                                                       // an inter frame
	f.Add([]byte{0xff})
	f.Fuzz(func(t *testing.T, payload []byte) {
		w, h := vp8KeyFrameSize(payload)
		if w < 0 || h < 0 || w > 0x3fff || h > 0x3fff {
			t.Fatalf("% x: %dx%d", payload, w, h)
		}
		if (w > 0 || h > 0) && !bytes.Contains(payload, []byte{0x9d, 0x01, 0x2a}) {
			t.Fatalf("% x: %dx%d without a key frame's start code", payload, w, h)
		}
	})
}
