package td_test

import (
	"testing"

	"github.com/wotmq/wotmq/td"
)

func TestHref(t *testing.T) {
	thing := &td.Thing{Base: "http://hub:8080/things/urn:dev:ops:1/"}
	for _, c := range []struct{ href, want string }{
		{"properties/on", "http://hub:8080/things/urn:dev:ops:1/properties/on"},
		{"properties/a%2Fb", "http://hub:8080/things/urn:dev:ops:1/properties/a%2Fb"},
		{"properties", "http://hub:8080/things/urn:dev:ops:1/properties"},
		{"mqtt://hub:1883/things/x/td", "mqtt://hub:1883/things/x/td"},
		{"/other", "http://hub:8080/other"},
	} {
		if got := thing.Href(td.Form{Href: c.href}); got != c.want {
			t.Errorf("Href(%q) = %q, want %q", c.href, got, c.want)
		}
	}
	if got := (&td.Thing{}).Href(td.Form{Href: "properties/on"}); got != "properties/on" {
		t.Errorf("without base: %q", got)
	}
	thing.Properties = map[string]*td.PropertyAffordance{"on": {}}
	thing.Properties["on"].Forms = []td.Form{{Href: "properties/on"}}
	thing.ResolveHrefs()
	if got := thing.Properties["on"].Forms[0].Href; got != "http://hub:8080/things/urn:dev:ops:1/properties/on" {
		t.Errorf("ResolveHrefs: %q", got)
	}
}
