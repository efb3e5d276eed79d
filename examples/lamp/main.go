// Command lamp is a simulated dimmable lamp: a wotmq agent that exposes one
// Thing through the hub.
//
// It publishes the lamp's Thing Description and property values, emits an
// "overheating" event every few seconds, and serves the requests the hub
// hands it: the actions toggle and fade, and writes of its properties. It
// uses plain MQTT 5 (paho) and the topic builders of package wot; see
// examples/README.md.
//
//	go run ./examples/lamp -broker 127.0.0.1:1883 -agent lamp-agent -id urn:dev:ops:lamp-1
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// config is what the flags set.
type config struct {
	Broker     string        // host:port of the hub's MQTT listener
	Agent      string        // our agent ID: the MQTT client ID the hub knows us by
	ThingID    string        // the ID of the Thing we expose
	EventEvery time.Duration // how often the lamp overheats
	FadeStep   time.Duration // the time one of the fade's five steps takes
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", "127.0.0.1:1883", "hub MQTT address (host:port)")
	flag.StringVar(&cfg.Agent, "agent", "lamp-agent", "agent ID (MQTT client ID)")
	flag.StringVar(&cfg.ThingID, "id", "urn:dev:ops:lamp-1", "Thing ID of the lamp")
	flag.DurationVar(&cfg.EventEvery, "event-every", 3*time.Second, "interval between overheating events")
	flag.DurationVar(&cfg.FadeStep, "fade-step", 200*time.Millisecond, "duration of one of the five fade steps")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "lamp:", err)
		os.Exit(1)
	}
}

// lampTD is the lamp's Thing Description, without forms: the hub writes the
// forms of the twin TD that consumers read. The "id" is set from -id.
const lampTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "title": "Dimmable lamp",
  "description": "A simulated lamp from the wotmq examples",
  "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
  "security": "nosec_sc",
  "properties": {
    "on": {"type": "boolean", "title": "Switched on"},
    "brightness": {"type": "integer", "minimum": 0, "maximum": 100, "unit": "percent"}
  },
  "actions": {
    "toggle": {
      "title": "Toggle",
      "description": "Switch the lamp on or off; the output is the new state",
      "output": {"type": "boolean"}
    },
    "fade": {
      "title": "Fade",
      "description": "Change the brightness gradually, reporting progress",
      "input": {
        "type": "object",
        "properties": {"to": {"type": "integer", "minimum": 0, "maximum": 100}},
        "required": ["to"]
      },
      "output": {"type": "integer"}
    }
  },
  "events": {
    "overheating": {
      "title": "Overheating",
      "description": "The lamp got hot; the data is its temperature",
      "data": {"type": "number", "unit": "celsius"}
    }
  }
}`

// lamp is the simulated device. Its state is only touched by the session
// loop, one goroutine, so it needs no lock.
type lamp struct {
	cfg config
	log *logger
	td  []byte // the TD we publish

	c *paho.Client // the current connection

	on         bool
	brightness int
}

// run runs the lamp until ctx is done, reconnecting whenever the connection
// to the hub is lost.
func run(ctx context.Context, cfg config, out io.Writer) error {
	thing, err := td.Parse([]byte(lampTD))
	if err != nil {
		return err
	}
	thing.ID = cfg.ThingID
	if err := td.Validate(thing, td.ValidateOptions{FormsOptional: true}); err != nil {
		return err
	}
	doc, err := td.Marshal(thing)
	if err != nil {
		return err
	}
	if cfg.EventEvery <= 0 {
		cfg.EventEvery = 3 * time.Second
	}
	l := &lamp{cfg: cfg, log: &logger{w: out}, td: doc, brightness: 50}

	const maxBackoff = 30 * time.Second
	backoff := time.Second
	for {
		connected, err := l.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = time.Second
		}
		l.log.printf("%v; reconnecting in %v", err, backoff)
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return nil
		}
		backoff = min(2*backoff, maxBackoff)
	}
}

// session connects, announces the lamp and serves requests until ctx is
// done (it returns nil) or the connection fails. connected tells whether it
// got as far as connecting.
func (l *lamp) session(ctx context.Context) (connected bool, err error) {
	// paho calls the handler on one goroutine and acknowledges a message
	// only after it returns: never block there, queue the request.
	requests := make(chan *paho.Publish, 64)
	l.log.printf("connecting to %s as agent %s", l.cfg.Broker, l.cfg.Agent)
	c, err := connect(ctx, l.cfg.Broker, l.cfg.Agent, l.log, func(m *paho.Publish) {
		select {
		case requests <- m:
		default:
			// The hub delivers it again when we reconnect.
			l.log.printf("too many requests queued; dropped one")
		}
	})
	if err != nil {
		return false, err
	}
	l.c = c
	defer c.Disconnect(&paho.Disconnect{})

	// Announce the Thing: its TD first (the hub refuses values of unknown
	// Things), then the current property values.
	tdTopic := wot.Topic{Kind: wot.TopicAgentTD, AgentID: l.cfg.Agent, ThingID: l.cfg.ThingID}.String()
	l.log.printf("connected; publishing the TD of %s on %s", l.cfg.ThingID, tdTopic)
	if err := l.publish(ctx, tdTopic, l.td, nil); err != nil {
		return true, err
	}
	if err := l.publishProperty(ctx, "on", l.on); err != nil {
		return true, err
	}
	if err := l.publishProperty(ctx, "brightness", l.brightness); err != nil {
		return true, err
	}

	// Requests: action invocations and property writes for our Things.
	// Requests that waited in the hub while we were away arrive now.
	reqTopic := wot.RequestsTopic(l.cfg.Agent)
	subCtx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = c.Subscribe(subCtx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: reqTopic, QoS: 1}}})
	cancel()
	if err != nil {
		return true, fmt.Errorf("subscribe %s: %w", reqTopic, err)
	}
	l.log.printf("waiting for requests on %s", reqTopic)

	events := time.NewTicker(l.cfg.EventEvery)
	defer events.Stop()
	for {
		select {
		case <-ctx.Done():
			l.log.printf("disconnecting")
			return true, nil
		case <-c.Done():
			return true, errors.New("connection lost")
		case <-events.C:
			err = l.overheat(ctx)
		case req := <-requests:
			err = l.serve(ctx, req)
		}
		if err != nil {
			return true, err
		}
	}
}

// overheat emits an overheating event with a random temperature.
func (l *lamp) overheat(ctx context.Context) error {
	celsius := math.Round((40+50*rand.Float64())*10) / 10
	value := strconv.FormatFloat(celsius, 'f', 1, 64)
	l.log.printf("event overheating %s", value)
	topic := wot.Topic{Kind: wot.TopicAgentEvent, AgentID: l.cfg.Agent, ThingID: l.cfg.ThingID, Name: "overheating"}.String()
	return l.publish(ctx, topic, []byte(value), nil)
}

// publishProperty reports a property's current value; the hub keeps it and
// publishes it retained on the twin's property topic.
func (l *lamp) publishProperty(ctx context.Context, name string, value any) error {
	b, err := json.Marshal(value)
	if err != nil {
		return err
	}
	l.log.printf("property %s = %s", name, b)
	topic := wot.Topic{Kind: wot.TopicAgentProperty, AgentID: l.cfg.Agent, ThingID: l.cfg.ThingID, Name: name}.String()
	return l.publish(ctx, topic, b, nil)
}

// serve handles one request from the hub. The request's user properties
// say what it is (op, thing, name, action-id, sender); the answer goes to
// its ResponseTopic with its CorrelationData and a status user property.
func (l *lamp) serve(ctx context.Context, req *paho.Publish) error {
	p := req.Properties
	if p == nil || p.ResponseTopic == "" {
		l.log.printf("ignoring a message on %s without a ResponseTopic", req.Topic)
		return nil
	}
	op, name := p.User.Get(wot.PropOp), p.User.Get(wot.PropName)
	l.log.printf("request %s %s %s from %s (action-id %s)", op, name, orNone(req.Payload), p.User.Get(wot.PropSender), p.User.Get(wot.PropActionID))
	if p.User.Get(wot.PropRedelivered) != "" {
		// The hub sends a request again when we reconnected before
		// answering it. A real device would remember action-ids it already
		// carried out; this lamp simply does it again.
		l.log.printf("(a redelivery)")
	}

	answer := func(status wot.Status, payload []byte) error {
		l.log.printf("%s %s: %s %s", op, name, status, orNone(payload))
		props := &paho.PublishProperties{
			CorrelationData: p.CorrelationData,
			User:            paho.UserProperties{{Key: wot.PropStatus, Value: string(status)}},
		}
		return l.publish(ctx, p.ResponseTopic, payload, props)
	}
	fail := func(msg string) error {
		b, _ := json.Marshal(msg) // an agent reports a failure as a JSON string
		return answer(wot.StatusFailed, b)
	}

	if thing := p.User.Get(wot.PropThing); thing != l.cfg.ThingID {
		return fail("this agent has no Thing " + thing)
	}
	switch {
	case op == wot.OpInvokeAction && name == "toggle":
		l.on = !l.on
		if err := answer(wot.StatusCompleted, []byte(strconv.FormatBool(l.on))); err != nil {
			return err
		}
		return l.publishProperty(ctx, "on", l.on)

	case op == wot.OpInvokeAction && name == "fade":
		var in struct {
			To *int `json:"to"`
		}
		if err := json.Unmarshal(req.Payload, &in); err != nil || in.To == nil {
			return fail("fade needs {\"to\": 0..100}")
		}
		return l.fade(ctx, *in.To, answer)

	case op == wot.OpWriteProperty && name == "on":
		var on bool
		if err := json.Unmarshal(req.Payload, &on); err != nil {
			return fail("on is a boolean")
		}
		l.on = on
		if err := answer(wot.StatusCompleted, nil); err != nil {
			return err
		}
		return l.publishProperty(ctx, "on", l.on)

	case op == wot.OpWriteProperty && name == "brightness":
		var b int
		if err := json.Unmarshal(req.Payload, &b); err != nil {
			return fail("brightness is an integer")
		}
		l.brightness = b
		if err := answer(wot.StatusCompleted, nil); err != nil {
			return err
		}
		return l.publishProperty(ctx, "brightness", l.brightness)
	}
	return fail(fmt.Sprintf("the lamp cannot %s %q", op, name))
}

// fade moves the brightness to target in five steps, reporting each step
// as progress (status running), then the final brightness (completed).
func (l *lamp) fade(ctx context.Context, target int, answer func(wot.Status, []byte) error) error {
	const steps = 5
	from := l.brightness
	for i := 1; i <= steps; i++ {
		select {
		case <-time.After(l.cfg.FadeStep): // the lamp takes its time
		case <-ctx.Done():
			return nil
		}
		l.brightness = from + (target-from)*i/steps
		if err := l.publishProperty(ctx, "brightness", l.brightness); err != nil {
			return err
		}
		if i < steps {
			if err := answer(wot.StatusRunning, []byte(strconv.Itoa(l.brightness))); err != nil {
				return err
			}
		}
	}
	return answer(wot.StatusCompleted, []byte(strconv.Itoa(l.brightness)))
}

// publish sends a QoS 1 message. A refusal by the hub (a PUBACK with an
// error reason code, e.g. a value that does not fit the TD) is logged; only
// a connection problem is returned as an error.
func (l *lamp) publish(ctx context.Context, topic string, payload []byte, props *paho.PublishProperties) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := l.c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload, Properties: props})
	if resp != nil && resp.ReasonCode >= 0x80 {
		reason := ""
		if resp.Properties != nil {
			reason = resp.Properties.ReasonString
		}
		l.log.printf("the hub refused the publish on %s: %#x %s", topic, resp.ReasonCode, reason)
		return nil
	}
	if err != nil {
		return fmt.Errorf("publish on %s: %w", topic, err)
	}
	return nil
}

// connect opens an MQTT 5 connection; onMessage gets every message
// received, on paho's handler goroutine.
func connect(ctx context.Context, addr, clientID string, log *logger, onMessage func(*paho.Publish)) (*paho.Client, error) {
	var d net.Dialer
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := d.DialContext(dctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	c := paho.NewClient(paho.ClientConfig{
		ClientID: clientID,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){
			func(pr paho.PublishReceived) (bool, error) {
				onMessage(pr.Packet)
				return true, nil
			},
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			log.printf("the hub disconnected us: %#x", d.ReasonCode)
		},
		OnClientError: func(error) {}, // the session loop notices c.Done()
	})
	ca, err := c.Connect(dctx, &paho.Connect{ClientID: clientID, CleanStart: true, KeepAlive: 30})
	if err != nil {
		conn.Close()
		if ca != nil {
			return nil, fmt.Errorf("connect: refused with %#x", ca.ReasonCode)
		}
		return nil, fmt.Errorf("connect: %w", err)
	}
	return c, nil
}

func orNone(b []byte) string {
	if len(b) == 0 {
		return "(no payload)"
	}
	return string(b)
}

// logger writes plain lines; the session loop and paho's goroutines share
// it.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}
