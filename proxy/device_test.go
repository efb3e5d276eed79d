package proxy

import (
	"strings"
	"testing"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// testDevice parses a proxied TD made of the given top-level members.
func testDevice(t *testing.T, members string) (*device, error) {
	t.Helper()
	doc := `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"urn:d","title":"d","wotmq:proxy":true,` +
		`"securityDefinitions":{"n":{"scheme":"nosec"}},"security":"n",` + members + `}`
	thing, err := td.Parse([]byte(doc))
	if err != nil {
		t.Fatalf("td.Parse: %v\n%s", err, doc)
	}
	return parseDevice(thing, "a")
}

// TestProxyDeviceForms: which forms the proxy reads and which it publishes
// on, from the MQTT binding's terms.
func TestProxyDeviceForms(t *testing.T) {
	d, err := testDevice(t, `"properties":{
		"p1":{"type":"string","readOnly":true,"forms":[{"href":"mqtt://h","mqv:filter":"s/+/p1"}]},
		"p2":{"type":"string","readOnly":true,"forms":[{"href":"mqtt://h","mqv:topic":"s/p2","mqv:controlPacket":"mqv:subscribe"}]},
		"p3":{"type":"string","forms":[{"href":"mqtt://h:1883/s/p3","op":["readproperty","observeproperty"]},
			{"href":"mqtt://h","op":"writeproperty","mqv:topic":"c/p3","mqv:qos":"0","mqv:retain":true}]}},
		"actions":{"a":{"forms":[{"href":"mqtt://h","mqv:topic":"c/a","mqv:controlPacket":"publish"}]}},
		"events":{"e":{"forms":[{"href":"mqtt://h","mqv:topic":"s/e"}]}}`)
	if err != nil {
		t.Fatal(err)
	}
	var in []string
	for _, r := range d.inbound {
		in = append(in, r.name+"<"+r.filter)
	}
	if got := strings.Join(in, " "); got != "p1<s/+/p1 p2<s/p2 p3<s/p3 e<s/e" {
		t.Errorf("read forms %q", got)
	}
	if c := d.commands[opName{wire.OpWriteProperty, "p3"}]; c.topic != "c/p3" || c.qos != 0 || !c.retain {
		t.Errorf("p3's command %+v", c)
	}
	if c := d.commands[opName{wire.OpInvokeAction, "a"}]; c.topic != "c/a" || c.qos != 1 || c.retain {
		t.Errorf("a's command %+v", c)
	}
	if len(d.commands) != 2 {
		t.Errorf("commands %v", d.commands)
	}
}

// TestProxyDeviceRefused: a TD the proxy cannot serve is refused with what
// is wrong, by its JSON path.
func TestProxyDeviceRefused(t *testing.T) {
	for name, tc := range map[string]struct{ members, want string }{
		"WritableWithoutCommand": {`"properties":{"p":{"type":"string","forms":[{"href":"mqtt://h","mqv:filter":"s/p"}]}}`, `$.properties["p"]: a writable property`},
		"ActionWithoutTopic":     {`"actions":{"a":{"forms":[{"href":"http://h/a"}]}}`, `$.actions["a"].forms[0]: no device topic`},
		"TopicInHubNamespace":    {`"events":{"e":{"forms":[{"href":"mqtt://h","mqv:filter":"things/x/#"}]}}`, `outside the hub's namespaces`},
		"WildcardFirst":          {`"events":{"e":{"forms":[{"href":"mqtt://h","mqv:filter":"#"}]}}`, `outside the hub's namespaces`},
		"DollarTopic":            {`"events":{"e":{"forms":[{"href":"mqtt://h","mqv:filter":"$SYS/x"}]}}`, `$-topics`},
		"WildcardInCommand":      {`"actions":{"a":{"forms":[{"href":"mqtt://h","mqv:topic":"c/+"}]}}`, `not a valid MQTT topic`},
		"BadFilter":              {`"events":{"e":{"forms":[{"href":"mqtt://h","mqv:filter":"s/#/x"}]}}`, `not a valid MQTT topic filter`},
		"BadQoS":                 {`"actions":{"a":{"forms":[{"href":"mqtt://h","mqv:topic":"c/a","mqv:qos":"3"}]}}`, `mqv:qos "3"`},
		"ConfirmedByUnknown":     {`"actions":{"a":{"wotmq:confirmedBy":"nope","forms":[{"href":"mqtt://h","mqv:topic":"c/a"}]}}`, `wotmq:confirmedBy`},
		"BadConfirmTimeout":      {`"actions":{"a":{"wotmq:confirmTimeout":"soon","forms":[{"href":"mqtt://h","mqv:topic":"c/a"}]}}`, `wotmq:confirmTimeout`},
		"BadContentType":         {`"events":{"e":{"forms":[{"href":"mqtt://h","mqv:filter":"s/e","contentType":"image/png"}]}}`, `contentType "image/png"`},
		"AvailabilityWords":      {`"wotmq:availability":{"mqv:filter":"s/lwt","online":"up"}`, `online and offline`},
		"AvailabilitySameWords":  {`"wotmq:availability":{"mqv:filter":"s/lwt","online":"x","offline":"x"}`, `online and offline`},
		"AvailabilityNoTopic":    {`"wotmq:availability":{"online":"1","offline":"0"}`, `no device topic`},
		"AvailabilitySettle":     {`"wotmq:availability":{"mqv:filter":"s/lwt","online":"1","offline":"0","wotmq:settle":"2h"}`, `wotmq:settle`},
		"AvailabilityNotObject":  {`"wotmq:availability":"tele/x/LWT"`, `want an object`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := testDevice(t, tc.members)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an error containing %q", err, tc.want)
			}
		})
	}
}
