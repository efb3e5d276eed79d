package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// The agent operations of the hub TD the suite uses, and the kind of topic
// each one's form must expand to.
const (
	agentUpdateTD       = wot.OpAgentUpdateTD
	agentPublishEvent   = wot.OpAgentPublishEvent
	agentUpdateProperty = wot.OpAgentUpdateProperty
	agentReply          = wot.OpAgentReply
	agentReceive        = wot.OpAgentReceive
)

var agentOpKinds = map[string]wot.TopicKind{
	agentUpdateTD:       wot.TopicAgentTD,
	agentPublishEvent:   wot.TopicAgentEvent,
	agentUpdateProperty: wot.TopicAgentProperty,
	agentReply:          wot.TopicAgentReplies,
	agentReceive:        wot.TopicAgentRequests,
}

// Names in the test Thing.
const (
	propLevel  = "level"  // integer 0..100, writable
	propSerial = "serial" // string, readOnly
	eventTick  = "tick"   // integer data
	// eventPresence is the event the hub adds to every twin TD.
	eventPresence = "presence"
	actScale      = "scale" // input {"factor": 1..10}, output integer
)

// testTD is the agent's TD of the test Thing, without forms: the hub writes
// the forms of the twin.
const testTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "title": "wotmq conformance Thing",
  "description": "Registered by the wotmq conformance suite; it deletes it when done.",
  "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
  "security": "nosec_sc",
  "properties": {
    "level": {"type": "integer", "minimum": 0, "maximum": 100},
    "serial": {"type": "string", "readOnly": true}
  },
  "actions": {
    "scale": {
      "input": {"type": "object", "properties": {"factor": {"type": "integer", "minimum": 1, "maximum": 10}}, "required": ["factor"]},
      "output": {"type": "integer"}
    }
  },
  "events": {
    "tick": {"data": {"type": "integer"}}
  }
}`

// thingTD returns the test TD with id set.
func thingTD(id string) ([]byte, error) {
	t, err := td.Parse([]byte(testTD))
	if err != nil {
		return nil, err
	}
	t.ID = id
	return td.Marshal(t)
}

// formFor returns the first MQTT form whose op contains op; the suite
// checks the MQTT binding, and a TD may list forms of other protocols first
// (a wotmq hub puts its HTTP forms first).
func formFor(forms []td.Form, op string) (td.Form, bool) {
	for _, f := range forms {
		if !isMQTT(f) {
			continue
		}
		if f.Op.Contains(op) {
			return f, true
		}
	}
	return td.Form{}, false
}

// isMQTT reports whether a form is one of the MQTT binding: an mqtt:// or
// mqtts:// href, or MQTT terms.
func isMQTT(f td.Form) bool {
	_, err := hrefTopic(f.Href)
	return err == nil || f.MQTTControlPacket != ""
}

// formTopic returns the topic (publish) or filter (subscribe, unsubscribe)
// of the form for op among forms, and checks its control packet.
func formTopic(where string, forms []td.Form, op string) (string, error) {
	f, ok := formFor(forms, op)
	if !ok {
		return "", fmt.Errorf("%s has no form with op %s", where, op)
	}
	want := packetFor(op)
	if packetOf(f, op) != want {
		return "", fmt.Errorf("%s: the %s form has mqv:controlPacket %q, want %q", where, op, f.MQTTControlPacket, want)
	}
	topic := f.MQTTFilter
	if want == td.MQTTPublish {
		topic = f.MQTTTopic
	}
	if topic == "" {
		return "", fmt.Errorf("%s: the %s form has no %s", where, op, topicTerm(want))
	}
	return topic, nil
}

// packetOf is the control packet form f uses for op: its
// mqv:controlPacket, else the MQTT binding's default for op (a form that
// holds both observe and unobserve ops leaves it out).
func packetOf(f td.Form, op string) string {
	if f.MQTTControlPacket != "" {
		return f.MQTTControlPacket
	}
	return packetFor(op)
}

// packetFor is the MQTT control packet that performs op (the MQTT
// binding's default).
func packetFor(op string) string {
	switch op {
	case td.OpWriteProperty, td.OpInvokeAction, td.OpWriteAllProperties, td.OpWriteMultipleProperties:
		return td.MQTTPublish
	case td.OpUnobserveProperty, td.OpUnsubscribeEvent, td.OpUnobserveAllProperties, td.OpUnsubscribeAllEvents:
		return td.MQTTUnsubscribe
	}
	return td.MQTTSubscribe
}

func topicTerm(packet string) string {
	if packet == td.MQTTPublish {
		return "mqv:topic"
	}
	return "mqv:filter"
}

var templateVar = regexp.MustCompile(`\{([^{}]*)\}`)

// expand fills the {name} variables of a URI template with values, each
// escaped as one topic level. A variable without a value is an error.
func expand(tmpl string, values map[string]string) (string, error) {
	var missing []string
	out := templateVar.ReplaceAllStringFunc(tmpl, func(v string) string {
		name := v[1 : len(v)-1]
		val, ok := values[name]
		if !ok {
			missing = append(missing, name)
			return v
		}
		return wot.EscapeLevel(val)
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("template %q has variables the suite cannot fill: %s", tmpl, strings.Join(missing, ", "))
	}
	return out, nil
}

// templateVars returns the variable names of a URI template.
func templateVars(tmpl string) []string {
	var out []string
	for _, m := range templateVar.FindAllStringSubmatch(tmpl, -1) {
		out = append(out, m[1])
	}
	return out
}

// agentTopic expands the hub TD form of an agent operation for the test
// Thing and affordance name.
func (s *suite) agentTopic(op, name string) (string, error) {
	tmpl, ok := s.agentForms[op]
	if !ok {
		return "", fmt.Errorf("the hub TD has no form for %s", op)
	}
	return expand(tmpl, map[string]string{"agentID": s.cfg.AgentID, "thingID": s.cfg.ThingID, "name": name})
}

// twinForm returns the topic or filter of the twin TD form for op on the
// affordance kind ("properties", "actions", "events") and name, or on the
// Thing when kind is "".
func (s *suite) twinForm(kind, name, op string) (string, error) {
	if s.twin == nil {
		return "", fmt.Errorf("no twin TD")
	}
	var forms []td.Form
	where := "the twin TD"
	switch kind {
	case "properties":
		if p := s.twin.Properties[name]; p != nil {
			forms = p.Forms
		}
	case "actions":
		if a := s.twin.Actions[name]; a != nil {
			forms = a.Forms
		}
	case "events":
		if e := s.twin.Events[name]; e != nil {
			forms = e.Forms
		}
	}
	if kind != "" {
		where = fmt.Sprintf("$.%s.%s of the twin TD", kind, name)
	} else {
		forms = s.twin.Forms
	}
	return formTopic(where, forms, op)
}

// hrefTopic returns the topic in the path of an mqtt:// or mqtts:// href.
func hrefTopic(href string) (string, error) {
	u, err := url.Parse(href)
	if err != nil {
		return "", err
	}
	if u.Scheme != "mqtt" && u.Scheme != "mqtts" {
		return "", fmt.Errorf("href %q is not an mqtt:// or mqtts:// URI", href)
	}
	return strings.TrimPrefix(u.Path, "/"), nil
}

// jsonEqual reports whether a and b hold the same JSON value.
func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return bytes.Equal(a, b)
	}
	return reflect.DeepEqual(x, y)
}

// checkStamp checks the sender and time user properties the hub adds to
// what it relays.
func checkStamp(m *paho.Publish, sender string) error {
	if got := userProp(m, wot.PropSender); got != sender {
		return fmt.Errorf("message on %s has user property %s=%q, want %q", m.Topic, wot.PropSender, got, sender)
	}
	return checkTime(m)
}

// checkTime checks the time user property: RFC 3339.
func checkTime(m *paho.Publish) error {
	v := userProp(m, wot.PropTime)
	if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
		return fmt.Errorf("message on %s has user property %s=%q, want an RFC 3339 time", m.Topic, wot.PropTime, v)
	}
	return nil
}

// checkRefusal checks a PUBACK that must refuse with code.
func checkRefusal(what string, rc byte, reason string, code wot.Code) error {
	if rc != code.Reason() || !strings.HasPrefix(reason, string(code)) {
		return fmt.Errorf("%s: PUBACK %#x %q, want %#x with a reason string starting %q", what, rc, reason, code.Reason(), code)
	}
	return nil
}

// checkFailedReply checks a failed status on a consumer's ResponseTopic.
func checkFailedReply(m *paho.Publish, corr []byte, code wot.Code) error {
	if st := userProp(m, wot.PropStatus); st != string(wot.StatusFailed) {
		return fmt.Errorf("reply has %s=%q, want %s", wot.PropStatus, st, wot.StatusFailed)
	}
	if e := userProp(m, wot.PropError); e != string(code) {
		return fmt.Errorf("failed reply has %s=%q, want %s", wot.PropError, e, code)
	}
	if got := m.Properties.CorrelationData; !bytes.Equal(got, corr) {
		return fmt.Errorf("failed reply has CorrelationData %q, want %q", got, corr)
	}
	var we wot.Error
	if err := json.Unmarshal(m.Payload, &we); err != nil || we.Code != code {
		return fmt.Errorf("failed reply payload %q is not {\"code\": %q, ...}", m.Payload, code)
	}
	return nil
}
