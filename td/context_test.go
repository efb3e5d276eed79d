package td

import (
	"encoding/json"
	"reflect"
	"testing"
)

// decodeContext decodes a @context value.
func decodeContext(t *testing.T, raw string) Context {
	t.Helper()
	var c Context
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return c
}

// encodeContext encodes a @context value.
func encodeContext(t *testing.T, c Context) string {
	t.Helper()
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func TestContextSetPrefix(t *testing.T) {
	cases := []struct {
		name, in, prefix, iri, want string
	}{
		{"StringBecomesArrayWithObject",
			`"https://www.w3.org/2022/wot/td/v1.1"`, "mqv", MQTTNamespace,
			`["https://www.w3.org/2022/wot/td/v1.1",{"mqv":"https://www.w3.org/2019/wot/mqtt#"}]`},
		{"ReusesExistingObject",
			`["https://www.w3.org/2022/wot/td/v1.1",{"saref":"https://w3id.org/saref#"}]`, "mqv", MQTTNamespace,
			`["https://www.w3.org/2022/wot/td/v1.1",{"mqv":"https://www.w3.org/2019/wot/mqtt#","saref":"https://w3id.org/saref#"}]`},
		{"UpdatesObjectThatDefinesPrefix",
			`["https://www.w3.org/2022/wot/td/v1.1",{"a":"x:"},{"mqv":"http://old/"}]`, "mqv", MQTTNamespace,
			`["https://www.w3.org/2022/wot/td/v1.1",{"a":"x:"},{"mqv":"https://www.w3.org/2019/wot/mqtt#"}]`},
		{"LeavesMatchingEntryVerbatim",
			`["https://www.w3.org/2022/wot/td/v1.1",{"z":"z:","mqv":"https://www.w3.org/2019/wot/mqtt#"}]`, "mqv", MQTTNamespace,
			`["https://www.w3.org/2022/wot/td/v1.1",{"z":"z:","mqv":"https://www.w3.org/2019/wot/mqtt#"}]`},
		{"AppendsObjectToStringArray",
			`["https://www.w3.org/2022/wot/td/v1.1","https://example.com/ctx"]`, "htv", HTTPNamespace,
			`["https://www.w3.org/2022/wot/td/v1.1","https://example.com/ctx",{"htv":"http://www.w3.org/2011/http#"}]`},
		{"SkipsNonObjectEntries",
			`["https://www.w3.org/2022/wot/td/v1.1",42,{"@language":"en"}]`, "ex", "https://example.com/",
			`["https://www.w3.org/2022/wot/td/v1.1",42,{"@language":"en","ex":"https://example.com/"}]`},
		{"ZeroContextGetsArray", `null`, "ex", "https://example.com/",
			`[{"ex":"https://example.com/"}]`},
		{"SingleObjectBecomesArray", `{"ex":"https://old/"}`, "ex", "https://example.com/",
			`[{"ex":"https://example.com/"}]`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := decodeContext(t, tc.in)
			c.SetPrefix(tc.prefix, tc.iri)
			if got := encodeContext(t, c); got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if iri, ok := c.Prefix(tc.prefix); !ok || iri != tc.iri {
				t.Errorf("Prefix(%q) = %q, %v", tc.prefix, iri, ok)
			}
			before := encodeContext(t, c)
			c.SetPrefix(tc.prefix, tc.iri)
			if after := encodeContext(t, c); after != before {
				t.Errorf("second SetPrefix changed %s to %s", before, after)
			}
		})
	}
}

func TestContextRoundTrip(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"KeepsString", `"https://www.w3.org/2022/wot/td/v1.1"`, `"https://www.w3.org/2022/wot/td/v1.1"`},
		{"KeepsSingletonArray", `["https://www.w3.org/2022/wot/td/v1.1"]`, `["https://www.w3.org/2022/wot/td/v1.1"]`},
		{"KeepsEntriesVerbatim", `[ "a", {"z": "1", "a": {"@id": "x", "@type": "@id"}}, 7 ]`,
			`["a",{"z":"1","a":{"@id":"x","@type":"@id"}},7]`},
		{"KeepsEmptyArray", `[]`, `[]`},
		{"ZeroIsNull", `null`, `null`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := encodeContext(t, decodeContext(t, tc.in)); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
	t.Run("RejectsNumber", func(t *testing.T) {
		var c Context
		if err := json.Unmarshal([]byte(`5`), &c); err == nil {
			t.Error("accepted a number")
		}
	})
}

func TestContextQueries(t *testing.T) {
	c := decodeContext(t, `["https://www.w3.org/2022/wot/td/v1.1",{"ex":"https://example.com/","n":5},"https://example.com/ctx"]`)
	t.Run("HasStringEntry", func(t *testing.T) {
		if !c.Has(ContextV11) || !c.Has("https://example.com/ctx") {
			t.Error("Has misses a string entry")
		}
	})
	t.Run("HasIgnoresObjectValues", func(t *testing.T) {
		if c.Has("https://example.com/") || c.Has(ContextV10) {
			t.Error("Has matched a non-entry")
		}
	})
	t.Run("IRIs", func(t *testing.T) {
		want := []string{ContextV11, "https://example.com/ctx"}
		if got := c.IRIs(); !reflect.DeepEqual(got, want) {
			t.Errorf("IRIs() = %v", got)
		}
	})
	t.Run("PrefixIgnoresNonStrings", func(t *testing.T) {
		if _, ok := c.Prefix("n"); ok {
			t.Error("Prefix accepted a number")
		}
		if _, ok := c.Prefix("missing"); ok {
			t.Error("Prefix found a missing prefix")
		}
	})
	t.Run("IsZero", func(t *testing.T) {
		if c.IsZero() || !(Context{}).IsZero() || decodeContext(t, `[]`).IsZero() {
			t.Error("IsZero is wrong")
		}
	})
	t.Run("NewContext", func(t *testing.T) {
		if got := encodeContext(t, NewContext(ContextV11)); got != `"`+ContextV11+`"` {
			t.Errorf("one IRI: %s", got)
		}
		if got := encodeContext(t, NewContext(ContextV10, ContextV11)); got != `["`+ContextV10+`","`+ContextV11+`"]` {
			t.Errorf("two IRIs: %s", got)
		}
	})
}
