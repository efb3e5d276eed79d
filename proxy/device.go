package proxy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// TD members of a proxied device beside the form mappings (mapping.go).
const (
	// AvailabilityMember ("wotmq:availability"), top level, names the
	// device's availability topic and the words it says there:
	// {"mqv:filter": "tele/plug1/LWT", "contentType": "text/plain",
	// "online": "Online", "offline": "Offline"}.
	AvailabilityMember = "wotmq:availability"
	// ConfirmedByMember ("wotmq:confirmedBy"), on an action or a writable
	// property, names the property that reflects the command: the request
	// completes when the device reports that property after the command
	// went out (a property write: when it reports the written value).
	ConfirmedByMember = "wotmq:confirmedBy"
	// SettleMember ("wotmq:settle"), in the availability member, is how long
	// after the device said online the commands held for it go out (a Go
	// duration, DefaultSettle when absent; "0s" for at once), and then only
	// once a client subscribes to their command topic.
	SettleMember = "wotmq:settle"
	// ConfirmTimeoutMember ("wotmq:confirmTimeout") bounds the wait for the
	// confirming report (a Go duration, DefaultConfirmTimeout when absent);
	// the request then fails with timeout.
	ConfirmTimeoutMember = "wotmq:confirmTimeout"
)

// DefaultConfirmTimeout is how long a command waits for the property
// that confirms it when the TD does not say.
const DefaultConfirmTimeout = 30 * time.Second

// device is what the proxy reads from a proxied Thing's TD: where its
// state arrives, where its commands go, its availability.
type device struct {
	thingID string
	agent   string
	inbound []route
	// commands by request op and affordance name.
	commands map[opName]command
	avail    *availability
}

type opName struct{ op, name string }

// route is one topic filter the device publishes on, for one property or
// event of the twin.
type route struct {
	filter string
	kind   wire.HistoryKind
	name   string
	codec  codec
}

// command is how a write or an action reaches the device.
type command struct {
	topic   string
	qos     byte
	retain  bool
	codec   codec
	confirm string        // the property whose report completes the request; "" for none
	timeout time.Duration // of the wait for it
	safe    bool          // a safe action: never held for an offline device
	output  bool          // an action with an output: the confirming value is it
}

// availability is the device's availability topic and its words.
type availability struct {
	filter          string
	codec           codec
	online, offline string
	settle          time.Duration // from online to sending what was held
}

// DefaultSettle is how long after a device said it is online the
// commands held for it go out, when its availability member does not say
// (SettleMember): Tasmota announces Online before it subscribes to its
// command topic.
const DefaultSettle = time.Second

// parseDevice reads a proxied TD.
func parseDevice(t *td.Thing, agent string) (*device, error) {
	d := &device{thingID: t.ID, agent: agent, commands: map[opName]command{}}
	for _, name := range sortedKeys(t.Properties) {
		p := t.Properties[name]
		where := fmt.Sprintf("$.properties[%q]", name)
		schema := &p.DataSchema
		for i := range p.Forms {
			f := &p.Forms[i]
			ops := f.Op
			if len(ops) == 0 {
				ops = td.Strings{td.OpReadProperty, td.OpWriteProperty}
			}
			fw := fmt.Sprintf("%s.forms[%d]", where, i)
			if f.MQTTFilter != "" || subscribes(f) || hasAny(f.Op, td.OpReadProperty, td.OpObserveProperty) {
				r, err := newRoute(f, wire.KindProperty, name, schema)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", fw, err)
				}
				d.inbound = append(d.inbound, r)
			}
			if f.MQTTFilter == "" && !subscribes(f) && hasAny(ops, td.OpWriteProperty) && !p.ReadOnly {
				c, err := newCommand(f, schema, p.Extra, t)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", fw, err)
				}
				d.commands[opName{wire.OpWriteProperty, name}] = c
			}
		}
		if !p.ReadOnly && !hasKey(d.commands, wire.OpWriteProperty, name) {
			return nil, fmt.Errorf("%s: a writable property of a proxied device needs a form with op writeproperty and the device's command topic (mqv:topic); or mark it readOnly", where)
		}
	}
	for _, name := range sortedKeys(t.Actions) {
		a := t.Actions[name]
		where := fmt.Sprintf("$.actions[%q]", name)
		for i := range a.Forms {
			f := &a.Forms[i]
			if f.MQTTFilter != "" || subscribes(f) || (len(f.Op) > 0 && !hasAny(f.Op, td.OpInvokeAction)) {
				continue
			}
			c, err := newCommand(f, a.Input, a.Extra, t)
			if err != nil {
				return nil, fmt.Errorf("%s.forms[%d]: %w", where, i, err)
			}
			c.safe, c.output = a.Safe, a.Output != nil
			d.commands[opName{wire.OpInvokeAction, name}] = c
			break
		}
		if !hasKey(d.commands, wire.OpInvokeAction, name) {
			return nil, fmt.Errorf("%s: an action of a proxied device needs a form with the device's command topic (mqv:topic)", where)
		}
	}
	for _, name := range sortedKeys(t.Events) {
		e := t.Events[name]
		for i := range e.Forms {
			f := &e.Forms[i]
			if len(f.Op) > 0 && !hasAny(f.Op, td.OpSubscribeEvent) {
				continue
			}
			r, err := newRoute(f, wire.KindEvent, name, e.Data)
			if err != nil {
				return nil, fmt.Errorf("$.events[%q].forms[%d]: %w", name, i, err)
			}
			d.inbound = append(d.inbound, r)
		}
	}
	if raw, ok := t.Extra[AvailabilityMember]; ok {
		a, err := parseAvailability(raw)
		if err != nil {
			return nil, fmt.Errorf("$[%q]: %w", AvailabilityMember, err)
		}
		d.avail = a
	}
	return d, nil
}

func newRoute(f *td.Form, kind wire.HistoryKind, name string, schema *td.DataSchema) (route, error) {
	filter := f.MQTTFilter
	if filter == "" {
		filter = formTopic(f)
	}
	if err := checkDeviceTopic(filter, true); err != nil {
		return route{}, err
	}
	c, err := newCodec(f, schema)
	return route{filter: filter, kind: kind, name: name, codec: c}, err
}

func newCommand(f *td.Form, schema *td.DataSchema, extra map[string]json.RawMessage, t *td.Thing) (command, error) {
	topic := formTopic(f)
	if err := checkDeviceTopic(topic, false); err != nil {
		return command{}, err
	}
	c := command{topic: topic, qos: 1, timeout: DefaultConfirmTimeout}
	switch f.MQTTQoS {
	case "":
	case "0", "1", "2":
		c.qos = f.MQTTQoS[0] - '0'
	default:
		return c, fmt.Errorf("mqv:qos %q: want \"0\", \"1\" or \"2\"", f.MQTTQoS)
	}
	c.retain = f.MQTTRetain != nil && *f.MQTTRetain
	var err error
	if c.codec, err = newCodec(f, schema); err != nil {
		return c, err
	}
	if raw, ok := extra[ConfirmedByMember]; ok {
		if err := json.Unmarshal(raw, &c.confirm); err != nil || t.Properties[c.confirm] == nil {
			return c, fmt.Errorf("%s: want the name of one of the Thing's properties", ConfirmedByMember)
		}
	}
	if raw, ok := extra[ConfirmTimeoutMember]; ok {
		var s string
		d, err := time.Duration(0), json.Unmarshal(raw, &s)
		if err == nil {
			d, err = time.ParseDuration(s)
		}
		if err != nil || d <= 0 {
			return c, fmt.Errorf("%s: want a positive duration such as \"10s\"", ConfirmTimeoutMember)
		}
		c.timeout = d
	}
	return c, nil
}

// formTopic is a form's topic: mqv:topic, else the path of an mqtt:// href
// (the older style, "mqtt://host:1883/stat/plug1/POWER").
func formTopic(f *td.Form) string {
	if f.MQTTTopic != "" {
		return f.MQTTTopic
	}
	u, err := url.Parse(f.Href)
	if err != nil || (u.Scheme != "mqtt" && u.Scheme != "mqtts") {
		return ""
	}
	return strings.TrimPrefix(u.Path, "/")
}

// checkDeviceTopic refuses a topic the proxy cannot use for a device: none,
// invalid, or in the hub's own namespaces (the hub is the only publisher
// there, and a device never publishes there).
func checkDeviceTopic(topic string, filter bool) error {
	what := "mqv:topic"
	if filter {
		what = "mqv:filter"
	}
	if topic == "" {
		return fmt.Errorf("no device topic: give %s (or an mqtt:// href with the topic as its path)", what)
	}
	if !validTopic(topic, filter) {
		return fmt.Errorf("%s %q is not a valid MQTT topic%s", what, topic, map[bool]string{true: " filter"}[filter])
	}
	first, _, _ := strings.Cut(topic, "/")
	switch first {
	case "things", "agents", "replies", "wotmq", "+", "#":
		return fmt.Errorf("%s %q: a device's topic must be outside the hub's namespaces (things/, agents/, replies/, wotmq/) and start with a literal level", what, topic)
	}
	if strings.HasPrefix(first, "$") {
		return fmt.Errorf("%s %q: $-topics belong to the broker", what, topic)
	}
	return nil
}

// validTopic checks an MQTT topic name or filter (MQTT 5 section 4.7).
func validTopic(s string, filter bool) bool {
	if s == "" || len(s) > 65535 || strings.ContainsRune(s, 0) {
		return false
	}
	levels := strings.Split(s, "/")
	for i, l := range levels {
		if !strings.ContainsAny(l, "+#") {
			continue
		}
		if !filter || (l != "+" && l != "#") || (l == "#" && i != len(levels)-1) {
			return false
		}
	}
	return true
}

func parseAvailability(raw json.RawMessage) (*availability, error) {
	var f td.Form
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("want an object with mqv:filter, contentType, online and offline")
	}
	var words struct{ Online, Offline string }
	_ = json.Unmarshal(raw, &words)
	if words.Online == "" || words.Offline == "" || words.Online == words.Offline {
		return nil, fmt.Errorf("online and offline: want the two different words the device publishes, such as \"Online\" and \"Offline\"")
	}
	r, err := newRoute(&f, wire.KindEvent, "", &td.DataSchema{Type: "string"})
	if err != nil {
		return nil, err
	}
	a := &availability{filter: r.filter, codec: r.codec, online: words.Online, offline: words.Offline, settle: DefaultSettle}
	if raw, ok := f.Extra[SettleMember]; ok {
		var s string
		d, err := time.Duration(0), json.Unmarshal(raw, &s)
		if err == nil {
			d, err = time.ParseDuration(s)
		}
		if err != nil || d < 0 || d > time.Minute {
			return nil, fmt.Errorf("%s: want a duration from \"0s\" to \"1m\"", SettleMember)
		}
		a.settle = d
	}
	return a, nil
}

// state reads an availability message: online, offline, or neither (ok
// false).
func (a *availability) state(payload []byte) (online, ok bool) {
	v, err := a.codec.decode(payload)
	if err != nil {
		return false, false
	}
	var s string
	if json.Unmarshal(v, &s) != nil {
		return false, false
	}
	switch s {
	case a.online:
		return true, true
	case a.offline:
		return false, true
	}
	return false, false
}

// subscribes reports whether a form says the client subscribes
// (mqv:controlPacket "subscribe", or "mqv:subscribe" as some TDs write
// it): a form the hub reads, never one it publishes on.
func subscribes(f *td.Form) bool {
	return strings.TrimPrefix(f.MQTTControlPacket, "mqv:") == "subscribe"
}

func hasAny(ops td.Strings, want ...string) bool {
	for _, o := range ops {
		if slices.Contains(want, o) {
			return true
		}
	}
	return false
}

func hasKey(m map[opName]command, op, name string) bool {
	_, ok := m[opName{op, name}]
	return ok
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
