package rtc

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/wot"
)

// byeTimeout bounds the bye that Close sends through the hub.
const byeTimeout = 2 * time.Second

// Channel is an open WebRTC DataChannel between a consumer and the agent of
// a Thing: messages (bytes, or JSON) go peer to peer, not through the hub.
// Its methods may be called concurrently.
//
// Back-pressure: Send waits while more than the high-water mark is
// buffered (BufferedAmount), until it drops to the low-water mark. On the
// receiving side, the OnMessage handler runs on one goroutine, one message
// at a time: a handler that falls behind slows the sender down instead of
// losing messages (on a reliable channel).
type Channel struct {
	label   string
	thingID string
	session string
	pc      *webrtc.PeerConnection
	dc      *webrtc.DataChannel
	high    uint64
	log     *slog.Logger

	handler    atomic.Pointer[func([]byte)]
	handlerSet chan struct{} // closed by the first OnMessage
	setOnce    sync.Once

	mu    sync.Mutex
	peer  string
	lowCh chan struct{} // closed (and replaced) when the buffer drains to the low-water mark

	done      chan struct{}
	closeOnce sync.Once
	sendBye   func(context.Context) error // tells the peer through the hub
	cleanup   func()                      // ends the session's signalling
}

// newChannel wraps a DataChannel. Call before it opens: it takes over its
// message, buffer and close events.
func newChannel(pc *webrtc.PeerConnection, dc *webrtc.DataChannel, thingID, session string, o Options) *Channel {
	c := &Channel{
		label:      dc.Label(),
		thingID:    thingID,
		session:    session,
		pc:         pc,
		dc:         dc,
		high:       o.HighWaterMark,
		log:        o.Logger,
		handlerSet: make(chan struct{}),
		lowCh:      make(chan struct{}),
		done:       make(chan struct{}),
	}
	dc.SetBufferedAmountLowThreshold(o.LowWaterMark)
	dc.OnBufferedAmountLow(c.drained)
	dc.OnMessage(c.receive)
	dc.OnClose(func() { c.shutdown(true) })
	return c
}

// Label is the label the consumer gave the channel.
func (c *Channel) Label() string { return c.label }

// ThingID is the Thing the channel leads to.
func (c *Channel) ThingID() string { return c.thingID }

// Session is the signalling session's ID.
func (c *Channel) Session() string { return c.session }

// Peer is the account at the other end: the agent on the consumer's side,
// the consumer on the agent's (as the hub authenticated it).
func (c *Channel) Peer() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.peer
}

func (c *Channel) setPeer(p string) {
	c.mu.Lock()
	c.peer = p
	c.mu.Unlock()
}

// Ordered reports whether messages arrive in the order they were sent.
func (c *Channel) Ordered() bool { return c.dc.Ordered() }

// Reliable reports whether every message arrives (no MaxRetransmits or
// MaxPacketLifeTime).
func (c *Channel) Reliable() bool {
	return c.dc.MaxRetransmits() == nil && c.dc.MaxPacketLifeTime() == nil
}

// BufferedAmount is how many bytes of sent messages are queued and not yet
// handed to the network.
func (c *Channel) BufferedAmount() uint64 { return c.dc.BufferedAmount() }

// Done is closed when the channel has closed: by either side (Close, or
// bye through the hub), or because the connection failed. A peer that
// vanishes without a word is noticed when ICE gives up on it, about 30 s
// later.
func (c *Channel) Done() <-chan struct{} { return c.done }

// OnMessage sets the function that receives the peer's messages, replacing
// any earlier one. It runs on one goroutine, one message at a time, in the
// order they arrive; the slice is the handler's to keep. Messages that
// arrive before the first OnMessage wait for it.
func (c *Channel) OnMessage(f func([]byte)) {
	if f == nil {
		f = func([]byte) {}
	}
	c.handler.Store(&f)
	c.setOnce.Do(func() { close(c.handlerSet) })
}

// receive runs on pion's read loop: waiting here leaves the peer's
// messages in the SCTP receive window, which slows the peer down.
func (c *Channel) receive(m webrtc.DataChannelMessage) {
	h := c.handler.Load()
	if h == nil {
		select {
		case <-c.handlerSet:
			h = c.handler.Load()
		case <-c.done:
			return
		}
	}
	(*h)(m.Data)
}

// Send sends a binary message (up to MaxMessageSize bytes), waiting while
// the buffer is over the high-water mark (see Channel).
func (c *Channel) Send(b []byte) error { return c.SendContext(context.Background(), b) }

// SendContext is Send with a context that bounds the wait for buffer
// space.
func (c *Channel) SendContext(ctx context.Context, b []byte) error {
	if len(b) > MaxMessageSize {
		return fmt.Errorf("%w: rtc: message of %d bytes: at most %d", wot.ErrInvalidInput, len(b), MaxMessageSize)
	}
	if err := c.wait(ctx); err != nil {
		return err
	}
	return c.sendError(c.dc.Send(b))
}

// SendJSON sends v marshalled to JSON, as a text message.
func (c *Channel) SendJSON(v any) error { return c.SendJSONContext(context.Background(), v) }

// SendJSONContext is SendJSON with a context that bounds the wait for
// buffer space.
func (c *Channel) SendJSONContext(ctx context.Context, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("%w: rtc: encode message: %w", wot.ErrInvalidInput, err)
	}
	if len(b) > MaxMessageSize {
		return fmt.Errorf("%w: rtc: message of %d bytes: at most %d", wot.ErrInvalidInput, len(b), MaxMessageSize)
	}
	if err := c.wait(ctx); err != nil {
		return err
	}
	return c.sendError(c.dc.SendText(string(b)))
}

// wait returns once the buffer is at most the high-water mark, or, when it
// was over it, has drained to the low-water mark.
func (c *Channel) wait(ctx context.Context) error {
	for c.dc.BufferedAmount() > c.high {
		c.mu.Lock()
		low := c.lowCh
		c.mu.Unlock()
		if c.dc.BufferedAmount() <= c.high { // drained while we took lowCh
			break
		}
		select {
		case <-low:
		case <-c.done:
			return ErrClosed
		case <-ctx.Done():
			return fmt.Errorf("rtc: waiting for buffer space: %w", ctx.Err())
		}
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
		return nil
	}
}

// drained wakes the senders waiting for buffer space.
func (c *Channel) drained() {
	c.mu.Lock()
	close(c.lowCh)
	c.lowCh = make(chan struct{})
	c.mu.Unlock()
}

func (c *Channel) sendError(err error) error {
	if err == nil {
		return nil
	}
	select {
	case <-c.done:
		return ErrClosed
	default:
	}
	if c.dc.ReadyState() != webrtc.DataChannelStateOpen {
		return fmt.Errorf("%w: %w", ErrClosed, err)
	}
	return fmt.Errorf("rtc: send: %w", err)
}

// Close closes the channel: it sends bye through the hub (waiting up to a
// couple of seconds for the hub to take it) and closes the connection
// between the peers. Messages still buffered may be lost. Close is
// idempotent.
func (c *Channel) Close() error {
	c.shutdown(true)
	return nil
}

// shutdown closes the channel, telling the peer with bye when it did not
// say bye itself.
func (c *Channel) shutdown(bye bool) {
	c.closeOnce.Do(func() {
		close(c.done)
		if bye && c.sendBye != nil {
			ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
			if err := c.sendBye(ctx); err != nil {
				c.log.Debug("bye not sent", "thing", c.thingID, "session", c.session, "err", err)
			}
			cancel()
		}
		_ = c.pc.Close()
		if c.cleanup != nil {
			c.cleanup()
		}
	})
}
