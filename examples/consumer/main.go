// Command consumer is a wotmq consumer: it discovers the Things a hub
// serves, then uses one of them through the forms of its twin Thing
// Description, the way any WoT consumer would.
//
// It subscribes to things/+/td and prints every Thing it discovers. When
// the target Thing's TD arrives, it reads the MQTT forms in it to find the
// topics of its events and property values (it hard-codes none), subscribes
// to them and prints what arrives, invokes the toggle action once and
// prints each status reply. It exits after -duration. See
// examples/README.md.
//
//	go run ./examples/consumer -broker 127.0.0.1:1883 -id consumer-1 -thing urn:dev:ops:lamp-1
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// config is what the flags set.
type config struct {
	Broker   string        // host:port of the hub's MQTT listener
	ID       string        // our MQTT client ID
	ThingID  string        // the Thing to use
	Duration time.Duration // how long to run
}

func main() {
	var cfg config
	flag.StringVar(&cfg.Broker, "broker", "127.0.0.1:1883", "hub MQTT address (host:port)")
	flag.StringVar(&cfg.ID, "id", "consumer-1", "MQTT client ID")
	flag.StringVar(&cfg.ThingID, "thing", "urn:dev:ops:lamp-1", "ID of the Thing to use")
	flag.DurationVar(&cfg.Duration, "duration", 10*time.Second, "how long to run")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "consumer:", err)
		os.Exit(1)
	}
}

// consumer is the state of one run. Only the run loop touches it.
type consumer struct {
	cfg     config
	log     *logger
	c       *paho.Client
	replyTo string // our ResponseTopic

	used    bool              // the target Thing's forms are in use
	topics  map[string]string // subscribed twin topic -> what it carries, e.g. "event overheating"
	pending map[string]string // CorrelationData -> the action it belongs to
}

// run runs the consumer until cfg.Duration has passed or ctx is done.
func run(ctx context.Context, cfg config, out io.Writer) error {
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	log := &logger{w: out}

	// paho calls the handler on one goroutine and acknowledges a message
	// only after it returns: never block there, queue the message.
	msgs := make(chan *paho.Publish, 1024)
	c, err := connect(ctx, cfg.Broker, cfg.ID, func(m *paho.Publish) {
		select {
		case msgs <- m:
		default:
			log.printf("too many messages queued; dropped one on %s", m.Topic)
		}
	})
	if err != nil {
		return err
	}
	defer c.Disconnect(&paho.Disconnect{})
	log.printf("connected to %s as %s", cfg.Broker, cfg.ID)

	cs := &consumer{
		cfg: cfg, log: log, c: c,
		// Replies come back on a topic of our own, outside the hub's
		// things/ and agents/ spaces.
		replyTo: "replies/" + wot.EscapeLevel(cfg.ID),
		topics:  map[string]string{},
		pending: map[string]string{},
	}
	// Discovery: every twin TD is retained on things/{thingID}/td.
	if err := cs.subscribe(ctx, wot.ThingsRoot+"/+/td", cs.replyTo); err != nil {
		return err
	}

	for {
		select {
		case <-ctx.Done():
			log.printf("done")
			return nil
		case <-c.Done():
			return errors.New("connection to the hub lost")
		case m := <-msgs:
			if err := cs.handle(ctx, m); err != nil {
				return err
			}
		}
	}
}

// handle deals with one received message.
func (cs *consumer) handle(ctx context.Context, m *paho.Publish) error {
	if m.Topic == cs.replyTo {
		cs.onReply(m)
		return nil
	}
	if what, ok := cs.topics[m.Topic]; ok {
		if strings.HasPrefix(what, "property ") {
			cs.log.printf("%s = %s", what, m.Payload)
		} else {
			cs.log.printf("%s: %s", what, m.Payload)
		}
		return nil
	}
	if t, err := wot.ParseTopic(m.Topic); err == nil && t.Kind == wot.TopicTD {
		return cs.onTD(ctx, t.ThingID, m.Payload)
	}
	return nil
}

// onTD prints a discovered Thing and starts using the target Thing.
func (cs *consumer) onTD(ctx context.Context, thingID string, payload []byte) error {
	if len(payload) == 0 {
		cs.log.printf("Thing %s was removed", thingID)
		return nil
	}
	thing, err := td.Parse(payload)
	if err != nil {
		cs.log.printf("Thing %s has a TD we cannot read: %v", thingID, err)
		return nil
	}
	props, actions, events := thing.AffordanceNames()
	cs.log.printf("discovered %s %q: properties %v, actions %v, events %v", thing.ID, thing.Title, props, actions, events)
	if thing.ID != cs.cfg.ThingID || cs.used {
		return nil
	}
	cs.used = true
	return cs.use(ctx, thing)
}

// use subscribes to the target Thing's events and property values and
// invokes its toggle action, all through the forms of its TD.
func (cs *consumer) use(ctx context.Context, thing *td.Thing) error {
	props, actions, events := thing.AffordanceNames()
	var filters []string
	for _, name := range events {
		f, ok := mqttForm(thing.Events[name].Forms, td.OpSubscribeEvent)
		if !ok {
			cs.log.printf("event %s has no MQTT subscribeevent form", name)
			continue
		}
		cs.topics[formTopic(f)] = "event " + name
		filters = append(filters, formTopic(f))
	}
	for _, name := range props {
		f, ok := mqttForm(thing.Properties[name].Forms, td.OpReadProperty)
		if !ok {
			cs.log.printf("property %s has no MQTT readproperty form", name)
			continue
		}
		cs.topics[formTopic(f)] = "property " + name
		filters = append(filters, formTopic(f))
	}
	if len(filters) > 0 {
		cs.log.printf("subscribing to the forms' topics: %s", strings.Join(filters, " "))
		if err := cs.subscribe(ctx, filters...); err != nil {
			return err
		}
	}

	const action = "toggle"
	if _, ok := thing.Actions[action]; !ok {
		cs.log.printf("%s has no action %s; actions are %v", thing.ID, action, actions)
		return nil
	}
	f, ok := mqttForm(thing.Actions[action].Forms, td.OpInvokeAction)
	if !ok {
		cs.log.printf("action %s has no MQTT invokeaction form", action)
		return nil
	}
	// The reply (and each status update) comes on our ResponseTopic with
	// our CorrelationData. Make it unique: replies to a request from an
	// earlier run with the same client ID land on the same topic.
	corr := fmt.Sprintf("%s-%x", action, time.Now().UnixNano())
	cs.pending[corr] = action
	cs.log.printf("invoking %s: publish on %s, replies on %s", action, formTopic(f), cs.replyTo)
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, err := cs.c.Publish(pctx, &paho.Publish{
		Topic: formTopic(f),
		QoS:   1,
		Properties: &paho.PublishProperties{
			ResponseTopic:   cs.replyTo,
			CorrelationData: []byte(corr),
		},
	})
	if err != nil {
		// The hub also sends a failed status on the ResponseTopic, with
		// the reason.
		cs.log.printf("the hub refused %s: %v", action, err)
	}
	return nil
}

// onReply prints a status reply to one of our requests.
func (cs *consumer) onReply(m *paho.Publish) {
	var corr string
	var user paho.UserProperties
	if m.Properties != nil {
		corr, user = string(m.Properties.CorrelationData), m.Properties.User
	}
	name, ok := cs.pending[corr]
	if !ok {
		name = "request " + corr
	}
	switch st := wot.Status(user.Get(wot.PropStatus)); st {
	case wot.StatusCompleted:
		out := string(m.Payload)
		if out == "" {
			out = "(none)"
		}
		cs.log.printf("%s: completed, output %s", name, out)
		delete(cs.pending, corr)
	case wot.StatusFailed:
		cs.log.printf("%s: failed: %s: %s", name, user.Get(wot.PropError), user.Get(wot.PropMessage))
		delete(cs.pending, corr)
	case wot.StatusRunning:
		cs.log.printf("%s: running, progress %s", name, m.Payload)
	default:
		cs.log.printf("%s: %s", name, st)
	}
}

// mqttForm returns the first MQTT form of an affordance that performs op.
// A twin TD may list forms of other protocols (HTTP) too, first.
func mqttForm(forms []td.Form, op string) (td.Form, bool) {
	for _, f := range forms {
		if isMQTT(f) && f.Op.Contains(op) {
			return f, true
		}
	}
	return td.Form{}, false
}

func isMQTT(f td.Form) bool {
	if f.MQTTControlPacket != "" || f.MQTTTopic != "" || f.MQTTFilter != "" {
		return true
	}
	u, err := url.Parse(f.Href)
	return err == nil && (u.Scheme == "mqtt" || u.Scheme == "mqtts")
}

// formTopic is the topic of an MQTT form: mqv:topic for publishing,
// mqv:filter for subscribing, else the path of the href.
func formTopic(f td.Form) string {
	switch {
	case f.MQTTTopic != "":
		return f.MQTTTopic
	case f.MQTTFilter != "":
		return f.MQTTFilter
	}
	u, err := url.Parse(f.Href)
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

func (cs *consumer) subscribe(ctx context.Context, filters ...string) error {
	s := &paho.Subscribe{}
	for _, f := range filters {
		s.Subscriptions = append(s.Subscriptions, paho.SubscribeOptions{Topic: f, QoS: 1})
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sa, err := cs.c.Subscribe(ctx, s)
	if err != nil {
		return fmt.Errorf("subscribe %v: %w", filters, err)
	}
	for i, rc := range sa.Reasons {
		if rc >= 0x80 && i < len(filters) {
			cs.log.printf("the hub refused the subscription to %s: %#x", filters[i], rc)
		}
	}
	return nil
}

// connect opens an MQTT 5 connection; onMessage gets every message
// received, on paho's handler goroutine.
func connect(ctx context.Context, addr, clientID string, onMessage func(*paho.Publish)) (*paho.Client, error) {
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
		OnClientError: func(error) {}, // the run loop notices c.Done()
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

// logger writes plain lines; the run loop and paho's goroutine share it.
type logger struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *logger) printf(format string, args ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fmt.Fprintf(l.w, format+"\n", args...)
}
