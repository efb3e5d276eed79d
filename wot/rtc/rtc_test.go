package rtc

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

// signalLog records the types of the signals an agent receives.
type signalLog chan wot.SignalType

// tap puts log between the Thing's signals and the listener.
func tap(thing *wot.ExposedThing, l *Listener) signalLog {
	log := make(signalLog, 64)
	thing.HandleSignals(func(r *wot.SignalRequest) {
		select {
		case log <- r.Type:
		default:
		}
		if l != nil {
			l.signal(r)
		}
	})
	return log
}

// waitFor waits until the agent received a signal of type want.
func (s signalLog) waitFor(tb testing.TB, want wot.SignalType) {
	tb.Helper()
	deadline := time.After(testTimeout)
	for {
		select {
		case got := <-s:
			if got == want {
				return
			}
		case <-deadline:
			tb.Fatalf("the agent received no %s", want)
		}
	}
}

// TestChannel opens channels through a hub between an agent and a
// consumer and sends messages both ways: bytes and JSON.
func TestChannel(t *testing.T) {
	h := startHub(t)
	agent := connect(t, h, "sensor-agent")
	thing := expose(t, agent, "urn:t:sensor")
	accepted := make(chan *Channel, 4)
	l, err := Serve(thing, loopback(), func(ch *Channel) {
		ch.OnMessage(func(b []byte) {
			switch string(b) {
			case "close":
				ch.Close() // from the handler
			case "json":
				_ = ch.SendJSON(map[string]int{"level": 7})
			default:
				_ = ch.Send(append([]byte("echo "), b...))
			}
		})
		accepted <- ch
	})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	signals := tap(thing, l)
	consumer := connect(t, h, "app")
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()

	ch, err := Open(ctx, consumer, "urn:t:sensor", "readings", loopback())
	if err != nil {
		t.Fatal(err)
	}
	in := newInbox()
	ch.OnMessage(in.add)
	if ch.Label() != "readings" || ch.ThingID() != "urn:t:sensor" || ch.Peer() != "sensor-agent" || !ch.Ordered() || !ch.Reliable() {
		t.Errorf("consumer's channel: label %q thing %q peer %q ordered %v reliable %v", ch.Label(), ch.ThingID(), ch.Peer(), ch.Ordered(), ch.Reliable())
	}
	var ach *Channel
	select {
	case ach = <-accepted:
	case <-time.After(testTimeout):
		t.Fatal("the agent's handler was not called")
	}
	if ach.Label() != "readings" || ach.Peer() != "app" || ach.Session() != ch.Session() {
		t.Errorf("agent's channel: label %q peer %q session %q (consumer's %q)", ach.Label(), ach.Peer(), ach.Session(), ch.Session())
	}
	if err := ch.Send([]byte{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := ch.SendJSON(map[string]string{"hello": "agent"}); err != nil {
		t.Fatal(err)
	}
	if err := ch.Send([]byte("json")); err != nil {
		t.Fatal(err)
	}
	got := in.wait(t, 3)
	if !bytes.Equal(got[0], []byte("echo \x01\x02\x03")) || string(got[1]) != `echo {"hello":"agent"}` || string(got[2]) != `{"level":7}` {
		t.Errorf("consumer got %q", got)
	}

	// Close sends bye through the hub; the agent's channel closes too.
	ch.Close()
	signals.waitFor(t, wot.SignalBye)
	waitClosed(t, ach, "agent")
	if err := ch.Send([]byte("late")); !errors.Is(err, ErrClosed) {
		t.Errorf("Send after Close: %v", err)
	}
	// The hub forgot the session.
	err = consumer.SendSignal(ctx, wot.Topic{Kind: wot.TopicChannel, ThingID: "urn:t:sensor"}.String(),
		consumer.RepliesTopic()+"/channels/"+ch.Session(), wot.Signal{Session: ch.Session(), Type: wot.SignalCandidate, Candidate: json.RawMessage(`{}`)})
	if !errors.Is(err, wot.ErrNotFound) {
		t.Errorf("candidate after bye: %v", err)
	}

	t.Run("AgentCloses", func(t *testing.T) {
		ch, err := Open(ctx, consumer, "urn:t:sensor", "second", loopback())
		if err != nil {
			t.Fatal(err)
		}
		<-accepted
		if err := ch.Send([]byte("close")); err != nil {
			t.Fatal(err)
		}
		waitClosed(t, ch, "consumer")
	})
	t.Run("UnorderedUnreliable", func(t *testing.T) {
		zero := uint16(0)
		o := loopback()
		o.Unordered, o.MaxRetransmits = true, &zero
		thingTD, err := consumer.Thing(ctx, "urn:t:sensor")
		if err != nil {
			t.Fatal(err)
		}
		ch, err := OpenThing(ctx, consumer, thingTD, "lossy", o) // the topic from the TD
		if err != nil {
			t.Fatal(err)
		}
		defer ch.Close()
		ach := <-accepted
		if ach.Ordered() || ach.Reliable() {
			t.Errorf("agent's channel: ordered %v reliable %v", ach.Ordered(), ach.Reliable())
		}
		in := newInbox()
		ch.OnMessage(in.add)
		if err := ch.Send([]byte("x")); err != nil {
			t.Fatal(err)
		}
		if got := in.wait(t, 1); string(got[0]) != "echo x" {
			t.Errorf("got %q", got[0])
		}
	})
	t.Run("ListenerClose", func(t *testing.T) {
		ch, err := Open(ctx, consumer, "urn:t:sensor", "third", loopback())
		if err != nil {
			t.Fatal(err)
		}
		<-accepted
		l.Close()
		waitClosed(t, ch, "consumer")
		if n := l.Sessions(); n != 0 {
			t.Errorf("%d sessions left", n)
		}
		// Without a handler the agent refuses at once.
		_, err = Open(ctx, consumer, "urn:t:sensor", "refused", loopback())
		t.Logf("no listener: %v", err)
		if !errors.Is(err, wot.ErrNotFound) || !strings.Contains(err.Error(), "hub messaging") {
			t.Errorf("open without a listener: %v", err)
		}
	})
}

// TestOpenDenied: a viewer may not open channels; an operator may.
func TestOpenDenied(t *testing.T) {
	const pw = "correct horse battery"
	h := startHub(t, func(o *hub.Options) {
		o.Dev, o.AdminPassword, o.PasswordCost = false, "admin-password", 4
	})
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	for id, role := range map[string]authz.Role{"agent": authz.RoleAgent, "viewer": authz.RoleViewer, "operator": authz.RoleOperator} {
		if err := h.Accounts().Add(ctx, id, role, "", pw); err != nil {
			t.Fatal(err)
		}
	}
	login := func(id string) func(*wot.Options) {
		return func(o *wot.Options) { o.Username, o.Password = id, pw }
	}
	agent := connect(t, h, "agent-1", login("agent"))
	thing := expose(t, agent, "urn:t:secure")
	l, err := Serve(thing, loopback(), func(ch *Channel) {})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	viewer := connect(t, h, "viewer-1", login("viewer"))
	_, err = Open(ctx, viewer, "urn:t:secure", "data", loopback())
	t.Logf("viewer: %v", err)
	if !errors.Is(err, wot.ErrDenied) || !strings.Contains(err.Error(), "denied") {
		t.Errorf("viewer: %v", err)
	}
	operator := connect(t, h, "operator-1", login("operator"))
	ch, err := Open(ctx, operator, "urn:t:secure", "data", loopback())
	if err != nil {
		t.Fatalf("operator: %v", err)
	}
	if ch.Peer() != "agent" {
		t.Errorf("peer %q", ch.Peer())
	}
	ch.Close()
}

// TestOpenNoAnswer: an agent that ignores signals leaves the consumer with
// ErrSetupTimeout, which says to use hub messaging; the consumer ends the
// session with bye.
func TestOpenNoAnswer(t *testing.T) {
	h := startHub(t)
	agent := connect(t, h, "mute-agent")
	thing := expose(t, agent, "urn:t:mute")
	signals := tap(thing, nil) // takes signals, answers nothing
	consumer := connect(t, h, "app")
	o := loopback()
	o.SetupTimeout = 300 * time.Millisecond
	start := time.Now()
	_, err := Open(context.Background(), consumer, "urn:t:mute", "data", o)
	t.Logf("mute agent: %v", err)
	if !errors.Is(err, ErrSetupTimeout) || !errors.Is(err, wot.ErrTimeout) || !strings.Contains(err.Error(), "use hub messaging") {
		t.Fatalf("got %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %v", d)
	}
	signals.waitFor(t, wot.SignalOffer)
	signals.waitFor(t, wot.SignalBye)

	t.Run("UnknownThing", func(t *testing.T) {
		_, err := Open(context.Background(), consumer, "urn:t:nobody", "data", o)
		if !errors.Is(err, wot.ErrNotFound) {
			t.Errorf("got %v", err)
		}
	})
	t.Run("Cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Open(ctx, consumer, "urn:t:mute", "data", o); !errors.Is(err, context.Canceled) || errors.Is(err, ErrSetupTimeout) {
			t.Errorf("got %v", err)
		}
	})
}

// TestBackpressure: Send waits while the buffer is over the high-water
// mark (here the receiver reads nothing until told), and every message
// arrives, in order, once the receiver reads.
func TestBackpressure(t *testing.T) {
	h := startHub(t)
	agent := connect(t, h, "sink-agent")
	thing := expose(t, agent, "urn:t:sink")
	accepted := make(chan *Channel, 1)
	l, err := Serve(thing, loopback(), func(ch *Channel) { accepted <- ch })
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	consumer := connect(t, h, "app")
	o := loopback()
	o.HighWaterMark, o.LowWaterMark = 128<<10, 32<<10
	ch, err := Open(context.Background(), consumer, "urn:t:sink", "bulk", o)
	if err != nil {
		t.Fatal(err)
	}
	defer ch.Close()
	sink := <-accepted // reads nothing yet: its SCTP window fills, then our buffer

	msg := make([]byte, 16<<10)
	sent := 0
	for ; sent < 1000; sent++ {
		binary.BigEndian.PutUint32(msg, uint32(sent))
		ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		err := ch.SendContext(ctx, msg)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if sent == 1000 {
		t.Fatal("Send never waited")
	}
	if least := int(o.HighWaterMark) / len(msg); sent < least {
		t.Errorf("Send waited after %d messages, before the high-water mark", sent)
	}
	in := newInbox()
	sink.OnMessage(in.add)
	binary.BigEndian.PutUint32(msg, uint32(sent))
	if err := ch.Send(msg); err != nil { // room again once the sink reads
		t.Fatal(err)
	}
	got := in.wait(t, sent+1)
	for i, m := range got {
		if n := binary.BigEndian.Uint32(m); n != uint32(i) || len(m) != len(msg) {
			t.Fatalf("message %d: seq %d, %d bytes", i, n, len(m))
		}
	}
	if _, err := Open(context.Background(), consumer, "urn:t:sink", "x", Options{HighWaterMark: 1 << 20}); !errors.Is(err, wot.ErrInvalidInput) {
		t.Errorf("HighWaterMark over the maximum: %v", err)
	}
	if err := ch.Send(make([]byte, MaxMessageSize+1)); !errors.Is(err, wot.ErrInvalidInput) {
		t.Errorf("message over MaxMessageSize: %v", err)
	}
}

func TestOptions(t *testing.T) {
	one := uint16(1)
	for _, o := range []Options{
		{HighWaterMark: MaxHighWaterMark + 1},
		{HighWaterMark: 1000, LowWaterMark: 1000},
		{MaxRetransmits: &one, MaxPacketLifeTime: time.Second},
		{MaxPacketLifeTime: time.Minute + 6*time.Second},
	} {
		if _, err := o.withDefaults(); !errors.Is(err, wot.ErrInvalidInput) {
			t.Errorf("%+v: %v", o, err)
		}
	}
	o, err := Options{}.withDefaults()
	if err != nil || o.HighWaterMark != DefaultHighWaterMark || o.LowWaterMark != DefaultHighWaterMark/4 || o.SetupTimeout != DefaultSetupTimeout {
		t.Errorf("defaults %+v %v", o, err)
	}
}

// TestCandidatesHeld: candidates that arrive before the remote
// description are held and applied with it (pair checks that some were
// held), and the bare pair carries messages.
func TestCandidatesHeld(t *testing.T) {
	a, b := pair(t, nil)
	got := make(chan []byte, 1)
	b.OnMessage(func(m webrtc.DataChannelMessage) { got <- m.Data })
	if err := a.Send([]byte("hi")); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-got:
		if string(m) != "hi" {
			t.Errorf("got %q", m)
		}
	case <-time.After(testTimeout):
		t.Fatal("no message")
	}
}
