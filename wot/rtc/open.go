package rtc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// Member is the Thing-level member of a twin TD that advertises real-time
// channels and names the signalling topic (docs/channels.md).
const Member = "wotmq:channel"

// ChannelTopic returns the signalling topic that a twin TD advertises in
// its Member, and whether it has one.
func ChannelTopic(t *td.Thing) (string, bool) {
	raw, ok := t.Extra[Member]
	if !ok {
		return "", false
	}
	var m struct {
		Topic string `json:"mqv:topic"`
	}
	if json.Unmarshal(raw, &m) != nil || m.Topic == "" {
		return "", false
	}
	return m.Topic, true
}

// Open opens a channel labelled label to the agent of a Thing, signalled
// through the hub c is connected to, on the Thing's channel topic of the
// wotmq topic scheme (things/{id}/channel). It returns once the channel is
// open, or fails: with an error wrapping wot.ErrDenied when c's account may
// not open channels, wot.ErrOffline when the agent is not connected,
// wot.ErrNotFound for an unknown Thing or one that takes no channels, and
// ErrSetupTimeout after Options.SetupTimeout. ctx bounds the setup only.
func Open(ctx context.Context, c *wot.Client, thingID, label string, opts Options) (*Channel, error) {
	if err := wot.ValidateID(thingID); err != nil {
		return nil, fmt.Errorf("%w: rtc: Thing ID: %w", wot.ErrInvalidInput, err)
	}
	return open(ctx, c, thingID, wot.Topic{Kind: wot.TopicChannel, ThingID: thingID}.String(), label, opts)
}

// OpenThing is Open on the signalling topic that the Thing's twin TD
// advertises (its Member). A TD without one fails with wot.ErrNotFound.
func OpenThing(ctx context.Context, c *wot.Client, t *wot.ConsumedThing, label string, opts Options) (*Channel, error) {
	topic, ok := ChannelTopic(t.TD())
	if !ok {
		return nil, fmt.Errorf("%w: rtc: the TD of %q advertises no real-time channels (no %q member); use hub messaging", wot.ErrNotFound, t.ID(), Member)
	}
	return open(ctx, c, t.ID(), topic, label, opts)
}

// opener is the consumer's side of a session while it sets up.
type opener struct {
	c       *wot.Client
	thingID string
	topic   string
	replyTo string
	session string
	pc      *webrtc.PeerConnection
	ch      *Channel
	out     serial
	ice     candidates
	gate    gate            // the offer before our candidates
	life    context.Context // cancelled when the session ends
	kill    context.CancelFunc

	mu      sync.Mutex
	sub     *wot.Subscription
	refused bool // the hub refused the offer: there is no session to end
	failed  chan error
	opened  chan struct{}
	isOpen  bool
}

func open(ctx context.Context, c *wot.Client, thingID, topic, label string, opts Options) (*Channel, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, opts.SetupTimeout)
	defer cancel()
	o := &opener{
		c: c, thingID: thingID, topic: topic, session: newSessionID(),
		failed: make(chan error, 1), opened: make(chan struct{}),
	}
	o.replyTo = c.RepliesTopic() + "/channels/" + o.session
	o.life, o.kill = context.WithCancel(context.Background())
	if o.pc, err = opts.peerConnection(); err != nil {
		return nil, err
	}
	dc, err := o.pc.CreateDataChannel(label, opts.dataChannelInit())
	if err != nil {
		_ = o.pc.Close()
		return nil, fmt.Errorf("%w: rtc: data channel %q: %w", wot.ErrInvalidInput, label, err)
	}
	if err := opts.offerMedia(o.pc); err != nil {
		_ = o.pc.Close()
		return nil, fmt.Errorf("%w: %w", wot.ErrInvalidInput, err)
	}
	o.ch = newChannel(o.pc, dc, thingID, o.session, opts)
	o.ch.sendBye = func(ctx context.Context) error {
		o.kill() // candidates still queued are moot
		o.out.stop(true)
		return c.SendSignal(ctx, topic, o.replyTo, wot.Signal{Session: o.session, Type: wot.SignalBye})
	}
	o.ch.cleanup = func() {
		o.kill()
		o.out.stop(false)
		o.mu.Lock()
		sub := o.sub
		o.mu.Unlock()
		if sub != nil {
			_ = sub.Stop(context.Background())
		}
	}
	opts.onTrack(o.pc, thingID, o.session, o.ch.Peer)
	// Everything the handler uses is set: subscribing orders it after.
	sub, err := c.Subscribe(ctx, o.replyTo, o.receive)
	if err != nil {
		o.ch.shutdown(false)
		return nil, o.setupError(ctx, start, fmt.Errorf("rtc: open channel to %s: %w", thingID, err))
	}
	o.mu.Lock()
	o.sub = sub
	o.mu.Unlock()
	dc.OnOpen(func() {
		o.mu.Lock()
		if !o.isOpen {
			o.isOpen = true
			close(o.opened)
		}
		o.mu.Unlock()
	})
	o.pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		if s == webrtc.PeerConnectionStateFailed {
			o.fail(errors.New("rtc: the peers found no network path (ICE failed)"))
			o.ch.shutdown(true)
		}
	})
	o.pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return // gathering complete
		}
		if sig, err := candidateSignal(o.session, cand); err == nil {
			o.gate.candidate(sig, o.send)
		}
	})
	offer, err := o.pc.CreateOffer(nil)
	if err != nil {
		o.ch.shutdown(false)
		return nil, fmt.Errorf("rtc: offer: %w", err)
	}
	if err := o.pc.SetLocalDescription(offer); err != nil {
		o.ch.shutdown(false)
		return nil, fmt.Errorf("rtc: offer: %w", err)
	}
	o.gate.release(wot.Signal{Session: o.session, Type: wot.SignalOffer, Label: label, SDP: offer.SDP}, o.send)
	select {
	case <-o.opened:
		return o.ch, nil
	case err = <-o.failed:
	case <-ctx.Done():
		err = fmt.Errorf("rtc: open channel %q to %s: %w", label, thingID, ctx.Err())
	}
	o.mu.Lock()
	refused := o.refused
	o.mu.Unlock()
	o.ch.shutdown(!refused) // bye: the agent may have the offer
	return nil, o.setupError(ctx, start, err)
}

// setupError turns a setup that ran out of time into ErrSetupTimeout.
func (o *opener) setupError(ctx context.Context, start time.Time, err error) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) && !errors.Is(err, wot.ErrDenied) && !errors.Is(err, wot.ErrNotFound) && !errors.Is(err, wot.ErrOffline) {
		return fmt.Errorf("%w (Thing %s, after %v): %w", ErrSetupTimeout, o.thingID, time.Since(start).Round(time.Millisecond), wot.ErrTimeout)
	}
	return err
}

// send queues a signal for the hub, behind the ones before it.
func (o *opener) send(sig wot.Signal) {
	o.out.push(func() {
		ctx, cancel := context.WithTimeout(o.life, DefaultSetupTimeout)
		defer cancel()
		err := o.c.SendSignal(ctx, o.topic, o.replyTo, sig)
		switch {
		case err == nil:
		case sig.Type == wot.SignalOffer:
			o.mu.Lock()
			o.refused = true
			o.mu.Unlock()
			o.fail(fmt.Errorf("rtc: open channel to %s: %w", o.thingID, err))
		default:
			// A candidate the hub refused: the session ended (the agent's
			// error or bye says why), or the setup times out.
			o.ch.log.Debug("channel signal not taken", "type", sig.Type, "thing", o.thingID, "session", o.session, "err", err)
		}
	})
}

// fail ends the setup with err; later failures, and failures after the
// channel opened, are only logged.
func (o *opener) fail(err error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.isOpen {
		o.ch.log.Debug("channel signalling", "thing", o.thingID, "session", o.session, "err", err)
		return
	}
	select {
	case o.failed <- err:
	default:
	}
}

// receive takes the agent's signals from the session's reply topic.
func (o *opener) receive(m wot.Message) {
	var sig wot.Signal
	if json.Unmarshal(m.Payload, &sig) != nil || sig.Session != o.session {
		return
	}
	switch sig.Type {
	case wot.SignalAnswer:
		o.ch.setPeer(m.Sender)
		if err := o.ice.setRemote(o.pc, webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sig.SDP}); err != nil {
			o.fail(err)
		}
	case wot.SignalCandidate:
		if err := o.ice.add(o.pc, sig.Candidate); err != nil {
			o.fail(err)
		}
	case wot.SignalError:
		o.fail(fmt.Errorf("rtc: open channel to %s: the agent refused: %w", o.thingID, sig.Err()))
		go o.ch.shutdown(false)
	case wot.SignalBye:
		o.fail(fmt.Errorf("%w: rtc: the agent of %s ended the session", ErrClosed, o.thingID))
		go o.ch.shutdown(false) // not on this goroutine: shutdown stops this subscription
	}
}
