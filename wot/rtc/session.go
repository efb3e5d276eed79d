package rtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/wot"
)

// serial runs functions one after the other, in the order they were
// pushed, on a goroutine that exists only while there is work. The
// signalling of a session goes through two: what it sends (the hub must
// see the offer before the candidates) and, on the agent, what it
// receives.
type serial struct {
	mu      sync.Mutex
	q       []func()
	running bool
	stopped bool
	wg      sync.WaitGroup
}

// push queues f; it is dropped once the serial has stopped.
func (s *serial) push(f func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return
	}
	s.q = append(s.q, f)
	if !s.running {
		s.running = true
		s.wg.Add(1)
		go s.run()
	}
}

func (s *serial) run() {
	defer s.wg.Done()
	for {
		s.mu.Lock()
		if len(s.q) == 0 || s.stopped {
			s.running = false
			s.q = nil
			s.mu.Unlock()
			return
		}
		f := s.q[0]
		s.q[0] = nil
		s.q = s.q[1:]
		s.mu.Unlock()
		f()
	}
}

// stop drops what is queued and waits for the function running, unless
// it is called from that function.
func (s *serial) stop(wait bool) {
	s.mu.Lock()
	s.stopped = true
	s.q = nil
	s.mu.Unlock()
	if wait {
		s.wg.Wait()
	}
}

// gate sends a session description before the candidates gathered while
// it was applied: SetLocalDescription starts gathering, and the peer's
// answer may come back before SetLocalDescription returns if the
// description went out first.
type gate struct {
	mu   sync.Mutex
	open bool
	held []wot.Signal
}

// candidate sends a candidate signal, or holds it until release.
func (g *gate) candidate(sig wot.Signal, send func(wot.Signal)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.open {
		g.held = append(g.held, sig)
		return
	}
	send(sig)
}

// release sends the description, then the candidates held.
func (g *gate) release(desc wot.Signal, send func(wot.Signal)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	send(desc)
	for _, sig := range g.held {
		send(sig)
	}
	g.held, g.open = nil, true
}

// candidates applies the peer's ICE candidates to a PeerConnection,
// holding those that arrive before the remote description (trickle ICE:
// they may overtake it).
type candidates struct {
	mu      sync.Mutex
	remote  bool
	pending []webrtc.ICECandidateInit
}

// add applies a candidate signal, or holds it.
func (c *candidates) add(pc *webrtc.PeerConnection, raw json.RawMessage) error {
	var init webrtc.ICECandidateInit
	if err := json.Unmarshal(raw, &init); err != nil {
		return fmt.Errorf("%w: rtc: ICE candidate: %w", wot.ErrInvalidInput, err)
	}
	c.mu.Lock()
	if !c.remote {
		c.pending = append(c.pending, init)
		c.mu.Unlock()
		return nil
	}
	c.mu.Unlock()
	return pc.AddICECandidate(init)
}

// setRemote applies the peer's description and the candidates held.
func (c *candidates) setRemote(pc *webrtc.PeerConnection, d webrtc.SessionDescription) error {
	if err := pc.SetRemoteDescription(d); err != nil {
		return fmt.Errorf("%w: rtc: remote %s: %w", wot.ErrInvalidInput, d.Type, err)
	}
	c.mu.Lock()
	c.remote = true
	held := c.pending
	c.pending = nil
	c.mu.Unlock()
	for _, init := range held {
		if err := pc.AddICECandidate(init); err != nil {
			return fmt.Errorf("rtc: ICE candidate: %w", err)
		}
	}
	return nil
}

// candidateSignal is the signal of a local ICE candidate.
func candidateSignal(session string, cand *webrtc.ICECandidate) (wot.Signal, error) {
	b, err := json.Marshal(cand.ToJSON())
	if err != nil {
		return wot.Signal{}, err
	}
	return wot.Signal{Session: session, Type: wot.SignalCandidate, Candidate: b}, nil
}

// newSessionID is a random session ID: 128 bits, hex.
func newSessionID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// sendFunc sends one signal of a session.
type sendFunc func(context.Context, wot.Signal) error
