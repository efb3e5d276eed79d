package conformance

import (
	"go/build"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/td"
)

func TestExpand(t *testing.T) {
	values := map[string]string{"agentID": "a/1", "thingID": "urn:x+y#%", "name": "n"}
	tests := []struct{ name, tmpl, want, err string }{
		{"EscapesEachLevel", "agents/{agentID}/things/{thingID}/events/{name}", "agents/a%2F1/things/urn:x%2By%23%25/events/n", ""},
		{"NoVariables", "agents/a/requests", "agents/a/requests", ""},
		{"UnknownVariable", "agents/{agent}/requests", "", "agent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := expand(tt.tmpl, values)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("err = %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("expand = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestMatchFilter(t *testing.T) {
	tests := []struct {
		filter, topic string
		want          bool
	}{
		{"a/b", "a/b", true},
		{"a/+", "a/b", true},
		{"a/+", "a/b/c", false},
		{"a/#", "a", true},
		{"a/#", "a/b/c", true},
		{"a/b", "a/c", false},
		{"a/b/c", "a/b", false},
	}
	for _, tt := range tests {
		if got := matchFilter(tt.filter, tt.topic); got != tt.want {
			t.Errorf("matchFilter(%q, %q) = %v", tt.filter, tt.topic, got)
		}
	}
}

func TestFormTopic(t *testing.T) {
	forms := []td.Form{
		{Op: td.Strings{td.OpReadProperty, td.OpObserveProperty}, MQTTControlPacket: td.MQTTSubscribe, MQTTFilter: "things/t/properties/p"},
		{Op: td.Strings{td.OpWriteProperty}, MQTTControlPacket: td.MQTTSubscribe, MQTTTopic: "things/t/properties/p/set"},
	}
	if got, err := formTopic("p", forms, td.OpObserveProperty); err != nil || got != "things/t/properties/p" {
		t.Errorf("observe: %q, %v", got, err)
	}
	if _, err := formTopic("p", forms, td.OpWriteProperty); err == nil || !strings.Contains(err.Error(), "controlPacket") {
		t.Errorf("write form with the wrong packet: %v", err)
	}
	if _, err := formTopic("p", forms, td.OpUnobserveProperty); err == nil {
		t.Error("missing form accepted")
	}
}

func TestHrefTopic(t *testing.T) {
	got, err := hrefTopic("mqtt://localhost:1883/things/urn:x%252Fy/td")
	if err != nil || got != "things/urn:x%2Fy/td" {
		t.Errorf("hrefTopic = %q, %v", got, err)
	}
	if _, err := hrefTopic("http://localhost/things/x/td"); err == nil {
		t.Error("http href accepted as MQTT")
	}
}

func TestThingTDIsValid(t *testing.T) {
	b, err := thingTD("urn:x")
	if err != nil {
		t.Fatal(err)
	}
	thing, err := td.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := td.Validate(thing, td.ValidateOptions{FormsOptional: true}); err != nil {
		t.Error(err)
	}
	if thing.ID != "urn:x" || thing.Properties[propSerial] == nil || !thing.Properties[propSerial].ReadOnly ||
		thing.Actions[actScale] == nil || thing.Events[eventTick] == nil {
		t.Errorf("test TD %s", b)
	}
}

// TestImports keeps the suite independent of the hub it checks: besides
// the standard library it may use only td, wot and paho.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{
		"github.com/wotmq/wotmq/td":           true,
		"github.com/wotmq/wotmq/wot":          true,
		"github.com/eclipse/paho.golang/paho": true,
	}
	for _, imp := range pkg.Imports {
		first, _, _ := strings.Cut(imp, "/")
		if strings.Contains(first, ".") && !allowed[imp] {
			t.Errorf("conformance imports %s", imp)
		}
	}
}
