package rtc

import (
	"context"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// Benchmarks of channels through a real hub, beside two bare pion peers
// signalled in memory, both on loopback:
//
//	go test -run '^$' -bench . -benchtime 2000x ./wot/rtc
//
// BenchmarkSetup is the time Open takes through the hub (signalling, ICE,
// DTLS, SCTP). BenchmarkChannel compares round trips (a message and its
// echo) and one-way throughput of our Channel with bare pion
// DataChannels.

// BenchmarkSetup measures Open through the hub.
func BenchmarkSetup(b *testing.B) {
	h := startHub(b)
	agent := connect(b, h, "bench-agent")
	thing := expose(b, agent, "urn:t:bench")
	l, err := Serve(thing, loopback(), func(*Channel) {})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	consumer := connect(b, h, "bench-app")
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		ch, err := Open(context.Background(), consumer, "urn:t:bench", "setup", loopback())
		if err != nil {
			b.Fatal(err)
		}
		samples = append(samples, time.Since(start))
		b.StopTimer()
		ch.Close()
		b.StartTimer()
	}
	b.StopTimer()
	reportP50(b, samples)
}

// link is one end's view of a channel pair: a sends, b answers or counts.
type link struct {
	send    func([]byte) error
	onReply func(func([]byte)) // a's messages
	onPeer  func(func([]byte)) // b's messages
	reply   func([]byte) error // b sends
}

// BenchmarkChannel compares our Channel (opened through the hub) with bare
// pion DataChannels: round trip and throughput, 64 B and 1 KiB.
func BenchmarkChannel(b *testing.B) {
	h := startHub(b)
	agent := connect(b, h, "bench-agent")
	thing := expose(b, agent, "urn:t:bench")
	accepted := make(chan *Channel, 1)
	l, err := Serve(thing, loopback(), func(ch *Channel) { accepted <- ch })
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	consumer := connect(b, h, "bench-app")
	ch, err := Open(context.Background(), consumer, "urn:t:bench", "bench", loopback())
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	ach := <-accepted
	ours := link{send: ch.Send, onReply: ch.OnMessage, onPeer: ach.OnMessage, reply: ach.Send}

	pa, pb := pair(b, nil)
	high, low := uint64(DefaultHighWaterMark), uint64(DefaultHighWaterMark/4)
	drained := make(chan struct{}, 1)
	pa.SetBufferedAmountLowThreshold(low)
	pa.OnBufferedAmountLow(func() {
		select {
		case drained <- struct{}{}:
		default:
		}
	})
	bare := link{
		send: func(m []byte) error { // the same back-pressure, by hand
			for pa.BufferedAmount() > high {
				<-drained
			}
			return pa.Send(m)
		},
		onReply: func(f func([]byte)) { pa.OnMessage(func(m webrtc.DataChannelMessage) { f(m.Data) }) },
		onPeer:  func(f func([]byte)) { pb.OnMessage(func(m webrtc.DataChannelMessage) { f(m.Data) }) },
		reply:   pb.Send,
	}

	for _, size := range []struct {
		name string
		n    int
	}{{"64B", 64}, {"1KiB", 1024}} {
		for _, k := range []struct {
			name string
			l    link
		}{{"channel", ours}, {"pion", bare}} {
			b.Run("RoundTrip/"+size.name+"/"+k.name, func(b *testing.B) { roundTrip(b, k.l, size.n) })
		}
		for _, k := range []struct {
			name string
			l    link
		}{{"channel", ours}, {"pion", bare}} {
			b.Run("Throughput/"+size.name+"/"+k.name, func(b *testing.B) { throughput(b, k.l, size.n) })
		}
	}
}

// roundTrip sends a message and waits for its echo, b.N times.
func roundTrip(b *testing.B, l link, size int) {
	l.onPeer(func(m []byte) { _ = l.reply(m) })
	echoed := make(chan struct{}, 1)
	l.onReply(func([]byte) { echoed <- struct{}{} })
	msg := make([]byte, size)
	samples := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if err := l.send(msg); err != nil {
			b.Fatal(err)
		}
		<-echoed
		samples = append(samples, time.Since(start))
	}
	b.StopTimer()
	reportP50(b, samples)
}

// throughput sends b.N messages one way, as fast as back-pressure lets it,
// and waits until they all arrived.
func throughput(b *testing.B, l link, size int) {
	var got atomic.Int64
	all := make(chan struct{})
	n := int64(b.N)
	l.onPeer(func([]byte) {
		if got.Add(1) == n {
			close(all)
		}
	})
	l.onReply(func([]byte) {})
	msg := make([]byte, size)
	b.SetBytes(int64(size))
	b.ResetTimer()
	for range b.N {
		if err := l.send(msg); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-all:
	case <-time.After(time.Minute):
		b.Fatalf("%d of %d messages arrived", got.Load(), n)
	}
	b.StopTimer()
}

// reportP50 reports the median of samples in microseconds.
func reportP50(b *testing.B, samples []time.Duration) {
	if len(samples) == 0 {
		return
	}
	slices.Sort(samples)
	b.ReportMetric(float64(samples[len(samples)/2])/float64(time.Microsecond), "p50-µs")
}
