package rtc

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/wot"
)

// Listener takes the channels consumers open to an exposed Thing. Make one
// with Serve.
type Listener struct {
	thing   *wot.ExposedThing
	opts    Options
	handler func(*Channel)

	mu       sync.Mutex
	closed   bool
	sessions map[string]*accepted   // by consumer + NUL + session ID
	perPeer  map[string]int         // sessions by consumer
	setups   map[string][]time.Time // the offers taken in the last minute, by consumer
	swept    time.Time              // when setups was last cleared of idle consumers
	now      func() time.Time       // the clock (tests set it)
}

// setupWindow is the window of Options.MaxSetupsPerMinute.
const setupWindow = time.Minute

// Serve accepts the channels that consumers open to a Thing this client
// exposes: it answers their offers through the hub and calls handler, on a
// goroutine of its own, with each channel once it is open. Call it before
// Expose, so that no offer finds the Thing without it (such offers are
// refused); Close stops it. Only the consumer's first DataChannel of a
// session is taken.
func Serve(thing *wot.ExposedThing, opts Options, handler func(*Channel)) (*Listener, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if handler == nil {
		return nil, fmt.Errorf("%w: rtc: Serve without a handler", wot.ErrInvalidInput)
	}
	l := &Listener{thing: thing, opts: opts, handler: handler, sessions: make(map[string]*accepted), perPeer: make(map[string]int), setups: make(map[string][]time.Time), now: time.Now}
	thing.HandleSignals(l.signal)
	return l, nil
}

// Close stops taking channels and closes the open ones (each with bye).
func (l *Listener) Close() error {
	l.thing.HandleSignals(nil)
	l.mu.Lock()
	l.closed = true
	open := make([]*accepted, 0, len(l.sessions))
	for _, s := range l.sessions {
		open = append(open, s)
	}
	l.mu.Unlock()
	for _, s := range open {
		s.end(true)
	}
	for _, s := range open {
		<-s.gone // ended by another goroutine, maybe
	}
	return nil
}

// Sessions is the number of sessions being set up or open.
func (l *Listener) Sessions() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.sessions)
}

// signal takes a consumer's signal (the Client's signal goroutine: it only
// hands it to the session's own queue).
func (l *Listener) signal(r *wot.SignalRequest) {
	key := r.Sender + "\x00" + r.Session
	l.mu.Lock()
	s := l.sessions[key]
	if s == nil && r.Type == wot.SignalOffer && !l.closed {
		if max := l.opts.MaxSessionsPerPeer; max > 0 && l.perPeer[r.Sender] >= max {
			l.mu.Unlock()
			l.refuse(r, wot.Errorf(wot.CodeQuota, "%s has %d channel sessions with %s already, the most it may", r.Sender, max, r.ThingID))
			return
		}
		if max := l.opts.MaxSetupsPerMinute; max > 0 && !l.takeSetup(r.Sender, max) {
			l.mu.Unlock()
			l.refuse(r, wot.Errorf(wot.CodeQuota, "%s started %d channel sessions with %s in the last minute, the most it may; try again later", r.Sender, max, r.ThingID))
			return
		}
		s = &accepted{l: l, key: key, req: r, gone: make(chan struct{})}
		s.life, s.kill = context.WithCancel(context.Background())
		l.sessions[key] = s
		l.perPeer[r.Sender]++
	}
	l.mu.Unlock()
	if s == nil {
		return // a late candidate or bye of a session that ended
	}
	s.in.push(func() { s.handle(r) })
}

// takeSetup counts a new session of consumer if it started fewer than max
// in the last minute, and says whether it did. l.mu is held.
func (l *Listener) takeSetup(consumer string, max int) bool {
	now := l.now()
	since := now.Add(-setupWindow)
	if now.Sub(l.swept) >= setupWindow { // forget consumers idle for a minute
		for c, ts := range l.setups {
			if !ts[len(ts)-1].After(since) {
				delete(l.setups, c)
			}
		}
		l.swept = now
	}
	ts := l.setups[consumer]
	i := 0
	for i < len(ts) && !ts[i].After(since) {
		i++
	}
	ts = ts[i:]
	if len(ts) >= max {
		l.setups[consumer] = ts
		return false
	}
	l.setups[consumer] = append(ts, now)
	return true
}

// forget drops a session that ended.
func (l *Listener) forget(s *accepted) {
	l.mu.Lock()
	if l.sessions[s.key] == s {
		delete(l.sessions, s.key)
		if l.perPeer[s.req.Sender]--; l.perPeer[s.req.Sender] <= 0 {
			delete(l.perPeer, s.req.Sender)
		}
	}
	l.mu.Unlock()
}

// refuse answers an offer the Listener does not take with an error
// signal, on a goroutine (the Client's signal goroutine must not wait).
func (l *Listener) refuse(r *wot.SignalRequest, e *wot.Error) {
	l.opts.Logger.Info("channel offer refused", "thing", r.ThingID, "consumer", r.Sender, "err", e)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		defer cancel()
		if err := r.Reply(ctx, wot.Signal{Type: wot.SignalError, Error: e}); err != nil {
			l.opts.Logger.Debug("channel refusal not taken", "consumer", r.Sender, "err", err)
		}
	}()
}

// accepted is the agent's side of one session.
type accepted struct {
	l    *Listener
	key  string
	req  *wot.SignalRequest // the offer: replies go to its consumer
	in   serial             // the consumer's signals, in order
	out  serial             // ours
	ice  candidates
	gate gate            // the answer before our candidates
	life context.Context // cancelled when the session ends
	kill context.CancelFunc

	mu     sync.Mutex
	pc     *webrtc.PeerConnection
	ch     *Channel
	isOpen bool
	ended  bool
	timer  *time.Timer

	gone     chan struct{} // closed by cleanup
	goneOnce sync.Once
}

// handle applies one of the consumer's signals.
func (s *accepted) handle(r *wot.SignalRequest) {
	switch r.Type {
	case wot.SignalOffer:
		s.mu.Lock()
		again := s.pc != nil
		s.mu.Unlock()
		if again {
			s.l.opts.Logger.Info("ignoring a second offer in a channel session", "thing", r.ThingID, "consumer", r.Sender, "session", r.Session)
			return
		}
		if err := s.answer(r); err != nil {
			s.l.opts.Logger.Info("cannot answer a channel offer", "thing", r.ThingID, "consumer", r.Sender, "err", err)
			s.refuse(wot.Errorf(wot.CodeAgentError, "the agent cannot answer: %v", err))
		}
	case wot.SignalCandidate:
		s.mu.Lock()
		pc := s.pc
		s.mu.Unlock()
		if pc == nil {
			return
		}
		if err := s.ice.add(pc, r.Candidate); err != nil {
			s.l.opts.Logger.Debug("bad ICE candidate", "consumer", r.Sender, "session", r.Session, "err", err)
		}
	case wot.SignalBye:
		s.end(false)
	}
}

// answer makes the PeerConnection for an offer and sends the answer; the
// candidates follow as they are gathered.
func (s *accepted) answer(r *wot.SignalRequest) error {
	pc, err := s.l.opts.peerConnection()
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		_ = pc.Close()
		return nil
	}
	s.pc = pc
	s.timer = time.AfterFunc(s.l.opts.SetupTimeout, s.expire)
	s.mu.Unlock()
	pc.OnDataChannel(func(dc *webrtc.DataChannel) {
		s.mu.Lock()
		if s.ch != nil || s.ended {
			s.mu.Unlock()
			_ = dc.Close()
			return
		}
		ch := newChannel(pc, dc, r.ThingID, r.Session, s.l.opts)
		ch.setPeer(r.Sender)
		ch.sendBye = func(ctx context.Context) error {
			s.kill()
			s.out.stop(true)
			return s.req.Reply(ctx, wot.Signal{Type: wot.SignalBye})
		}
		ch.cleanup = s.cleanup
		s.ch = ch
		s.mu.Unlock()
		dc.OnOpen(func() { s.open(ch) })
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateFailed {
			s.end(true)
		}
	})
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		if sig, err := candidateSignal(r.Session, cand); err == nil {
			s.gate.candidate(sig, s.send)
		}
	})
	s.l.opts.onTrack(pc, r.ThingID, r.Session, func() string { return r.Sender })
	if err := s.ice.setRemote(pc, webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: r.SDP}); err != nil {
		return err
	}
	if err := s.l.opts.addTracks(pc); err != nil {
		return err
	}
	ans, err := pc.CreateAnswer(nil)
	if err != nil {
		return fmt.Errorf("rtc: answer: %w", err)
	}
	if err := pc.SetLocalDescription(ans); err != nil {
		return fmt.Errorf("rtc: answer: %w", err)
	}
	s.gate.release(wot.Signal{Type: wot.SignalAnswer, SDP: ans.SDP}, s.send)
	return nil
}

// open hands an open channel to the handler.
func (s *accepted) open(ch *Channel) {
	s.mu.Lock()
	if s.isOpen || s.ended {
		s.mu.Unlock()
		return
	}
	s.isOpen = true
	s.timer.Stop()
	s.mu.Unlock()
	defer func() {
		if v := recover(); v != nil {
			s.l.opts.Logger.Error("channel handler panicked", "thing", ch.ThingID(), "label", ch.Label(), "panic", v)
			ch.Close()
		}
	}()
	s.l.handler(ch)
}

// expire ends a session that did not open within the setup timeout.
func (s *accepted) expire() {
	s.mu.Lock()
	open := s.isOpen
	s.mu.Unlock()
	if !open {
		s.l.opts.Logger.Info("channel setup timed out", "thing", s.req.ThingID, "consumer", s.req.Sender, "session", s.req.Session)
		s.end(true)
	}
}

// send queues one of our signals for the consumer.
func (s *accepted) send(sig wot.Signal) {
	s.out.push(func() {
		ctx, cancel := context.WithTimeout(s.life, DefaultSetupTimeout)
		defer cancel()
		if err := s.req.Reply(ctx, sig); err != nil && s.life.Err() == nil {
			s.l.opts.Logger.Debug("channel signal not taken", "type", sig.Type, "consumer", s.req.Sender, "session", s.req.Session, "err", err)
		}
	})
}

// refuse ends the session with an error signal (on the session's
// queue).
func (s *accepted) refuse(e *wot.Error) {
	s.kill()
	s.out.stop(true)
	ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
	defer cancel()
	if err := s.req.Reply(ctx, wot.Signal{Type: wot.SignalError, Error: e}); err != nil {
		s.l.opts.Logger.Debug("channel refusal not taken", "consumer", s.req.Sender, "session", s.req.Session, "err", err)
	}
	s.end(false)
}

// end ends the session: the channel closes (with bye when asked) or,
// before there is one, the PeerConnection.
func (s *accepted) end(bye bool) {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	s.ended = true
	ch, pc := s.ch, s.pc
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	if ch != nil {
		ch.shutdown(bye) // calls cleanup
		return
	}
	if bye {
		ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
		s.kill()
		s.out.stop(true)
		_ = s.req.Reply(ctx, wot.Signal{Type: wot.SignalBye})
		cancel()
	}
	if pc != nil {
		_ = pc.Close()
	}
	s.cleanup()
}

// cleanup stops the session's signalling and forgets it.
func (s *accepted) cleanup() {
	s.mu.Lock()
	s.ended = true
	s.mu.Unlock()
	s.kill()
	s.in.stop(false)
	s.out.stop(false)
	s.l.forget(s)
	s.goneOnce.Do(func() { close(s.gone) })
}
