package td

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"reflect"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata")

// readTD parses a TD from testdata.
func readTD(t *testing.T, name string) *Thing {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	th, err := Parse(data)
	if err != nil {
		t.Fatalf("Parse(%s): %v", name, err)
	}
	return th
}

// compact returns the compact form of a JSON document.
func compact(t *testing.T, raw []byte) string {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		t.Fatalf("compact %s: %v", raw, err)
	}
	return buf.String()
}

// canonical returns a JSON document re-encoded with sorted object keys.
func canonical(t *testing.T, raw []byte) string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// members decodes a JSON object into its raw members.
func members(t *testing.T, raw []byte) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	return m
}

func TestRoundTrip(t *testing.T) {
	for _, name := range []string{"lamp.td.json", "minimal.td.json", "agent.td.json"} {
		t.Run(name, func(t *testing.T) {
			first := readTD(t, name)
			encoded, err := Marshal(first)
			if err != nil {
				t.Fatal(err)
			}
			second, err := Parse(encoded)
			if err != nil {
				t.Fatalf("Parse(Marshal(x)): %v\n%s", err, encoded)
			}
			if !reflect.DeepEqual(first, second) {
				t.Errorf("decode -> encode -> decode differs\nencoded: %s", encoded)
			}
			again, err := Marshal(second)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(encoded, again) {
				t.Errorf("encoding is not stable:\n%s\n%s", encoded, again)
			}
		})
	}
}

func TestRoundTripKeepsUnknownMembers(t *testing.T) {
	original, err := os.ReadFile("testdata/lamp.td.json")
	if err != nil {
		t.Fatal(err)
	}
	encoded, err := Marshal(readTD(t, "lamp.td.json"))
	if err != nil {
		t.Fatal(err)
	}
	in, out := members(t, original), members(t, encoded)

	// Each case names a member by its path of object keys (array elements
	// by index) and the path must hold the same JSON in both documents.
	cases := []struct {
		name string
		path []any
	}{
		{"ThingLinks", []any{"links"}},
		{"ThingVersion", []any{"version"}},
		{"ThingCreated", []any{"created"}},
		{"ThingModified", []any{"modified"}},
		{"ThingSupport", []any{"support"}},
		{"ThingSchemaDefinitions", []any{"schemaDefinitions"}},
		{"ThingExtension", []any{"ex:serialNumber"}},
		{"ThingExtensionObject", []any{"ex:installation"}},
		{"ContextEntries", []any{"@context"}},
		{"ComboOneOf", []any{"securityDefinitions", "combo_sc", "oneOf"}},
		{"PropertyExtension", []any{"properties", "on", "ex:widget"}},
		{"FormExtension", []any{"properties", "on", "forms", 0, "ex:hint"}},
		{"FormResponse", []any{"properties", "status", "forms", 0, "response"}},
		{"SchemaExtension", []any{"properties", "status", "properties", "mode", "ex:label"}},
		{"ActionExtension", []any{"actions", "fade", "ex:priority"}},
		{"PropertyDescriptions", []any{"properties", "brightness", "descriptions"}},
		{"URIVariables", []any{"properties", "log", "uriVariables"}},
		{"NestedObjectSchema", []any{"properties", "status", "properties"}},
		{"HTTPMethod", []any{"properties", "log", "forms", 0, "htv:methodName"}},
		{"MQTTRetain", []any{"properties", "on", "forms", 1, "mqv:retain"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, got := lookup(t, in, tc.path), lookup(t, out, tc.path)
			if want == nil || got == nil {
				t.Fatalf("member %v: original %s, encoded %s", tc.path, want, got)
			}
			if canonical(t, want) != canonical(t, got) {
				t.Errorf("member %v: got %s, want %s", tc.path, got, want)
			}
		})
	}
}

// lookup follows a path of keys and indexes through a decoded document.
func lookup(t *testing.T, doc map[string]json.RawMessage, path []any) json.RawMessage {
	t.Helper()
	var cur json.RawMessage
	obj := doc
	for i, step := range path {
		switch s := step.(type) {
		case string:
			cur = obj[s]
		case int:
			var arr []json.RawMessage
			if err := json.Unmarshal(cur, &arr); err != nil || s >= len(arr) {
				return nil
			}
			cur = arr[s]
		}
		if cur == nil {
			return nil
		}
		if i+1 < len(path) {
			if _, isKey := path[i+1].(string); isKey {
				obj = members(t, cur)
			}
		}
	}
	return cur
}

func TestUnknownMembersLandInTheRightExtra(t *testing.T) {
	th := readTD(t, "lamp.td.json")
	on := th.Properties["on"]
	status := th.Properties["status"]
	cases := []struct {
		name  string
		extra map[string]json.RawMessage
		key   string
		want  string
	}{
		{"Thing", th.Extra, "ex:serialNumber", `"SN-000123"`},
		{"ThingLinks", th.Extra, "links", ""},
		{"SecurityScheme", th.SecurityDefinitions["combo_sc"].Extra, "oneOf", `["nosec_sc","basic_sc"]`},
		{"Property", on.Extra, "ex:widget", `"toggle"`},
		{"Form", on.Forms[0].Extra, "ex:hint", `{"cache":false}`},
		{"NestedSchema", status.Properties["mode"].Extra, "ex:label", `"Mode"`},
		{"Action", th.Actions["fade"].Extra, "ex:priority", `3`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			raw, ok := tc.extra[tc.key]
			if !ok {
				t.Fatalf("Extra lacks %q: %v", tc.key, tc.extra)
			}
			if tc.want != "" && compact(t, raw) != tc.want {
				t.Errorf("Extra[%q] = %s, want %s", tc.key, raw, tc.want)
			}
		})
	}
	t.Run("EmbeddedSchemaExtraStaysEmpty", func(t *testing.T) {
		if on.DataSchema.Extra != nil {
			t.Errorf("DataSchema.Extra = %v, want nil", on.DataSchema.Extra)
		}
	})
	t.Run("KnownMembersNotInExtra", func(t *testing.T) {
		for _, key := range []string{"type", "forms", "title", "observable"} {
			if _, ok := on.Extra[key]; ok {
				t.Errorf("Extra holds known member %q", key)
			}
		}
	})
}

func TestPropertyMembersShareOneLevel(t *testing.T) {
	th := readTD(t, "lamp.td.json")
	b := th.Properties["brightness"]

	t.Run("DecodesSchemaMembers", func(t *testing.T) {
		s := b.DataSchema
		if s.Type != TypeInteger || *s.Minimum != 0 || *s.Maximum != 100 || *s.MultipleOf != 5 ||
			s.Unit != "percent" || s.Default != json.Number("50") {
			t.Errorf("schema = %+v", s)
		}
	})
	t.Run("DecodesInteractionMembers", func(t *testing.T) {
		a := b.InteractionAffordance
		if !a.Type.Contains("saref:LightingDevice") || len(a.Forms) != 1 || a.Descriptions["de"] == "" {
			t.Errorf("interaction = %+v", a)
		}
	})
	t.Run("DecodesSharedDescriptionIntoBoth", func(t *testing.T) {
		if b.InteractionAffordance.Description != "Brightness in percent" ||
			b.DataSchema.Description != "Brightness in percent" {
			t.Errorf("descriptions: %q / %q", b.InteractionAffordance.Description, b.DataSchema.Description)
		}
	})
	t.Run("EncodesFlat", func(t *testing.T) {
		out, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		m := members(t, out)
		for _, key := range []string{"@type", "type", "minimum", "maximum", "unit", "default", "forms", "description", "descriptions"} {
			if _, ok := m[key]; !ok {
				t.Errorf("encoded property lacks %q: %s", key, out)
			}
		}
		for _, key := range []string{"DataSchema", "InteractionAffordance", "Extra", "readOnly"} {
			if _, ok := m[key]; ok {
				t.Errorf("encoded property has %q: %s", key, out)
			}
		}
	})
	t.Run("EncodesReadOnly", func(t *testing.T) {
		out, _ := json.Marshal(th.Properties["status"])
		if !bytes.Contains(out, []byte(`"readOnly":true`)) {
			t.Errorf("readOnly lost: %s", out)
		}
	})
}

func TestSharedMemberNames(t *testing.T) {
	t.Run("TitleFromDataSchemaWhenInteractionEmpty", func(t *testing.T) {
		p := PropertyAffordance{DataSchema: DataSchema{Title: "schema title", Type: TypeString}}
		out, _ := json.Marshal(p)
		if got := compact(t, out); got != `{"title":"schema title","type":"string"}` {
			t.Errorf("got %s", got)
		}
	})
	t.Run("InteractionTitleWins", func(t *testing.T) {
		p := PropertyAffordance{InteractionAffordance: InteractionAffordance{Title: "a"}, DataSchema: DataSchema{Title: "b"}}
		out, _ := json.Marshal(p)
		if got := compact(t, out); got != `{"title":"a"}` {
			t.Errorf("got %s", got)
		}
	})
	t.Run("ItemsObjectIsSchema", func(t *testing.T) {
		var s DataSchema
		if err := json.Unmarshal([]byte(`{"items":{"type":"string"}}`), &s); err != nil {
			t.Fatal(err)
		}
		if s.Items == nil || s.Items.Type != TypeString || s.ItemsTuple != nil {
			t.Errorf("got %+v", s)
		}
	})
	t.Run("ItemsArrayIsTuple", func(t *testing.T) {
		var s DataSchema
		if err := json.Unmarshal([]byte(`{"items":[{"type":"string"},{"type":"number"}]}`), &s); err != nil {
			t.Fatal(err)
		}
		if s.Items != nil || len(s.ItemsTuple) != 2 || s.ItemsTuple[1].Type != TypeNumber {
			t.Errorf("got %+v", s)
		}
		out, _ := json.Marshal(s)
		if got := compact(t, out); got != `{"items":[{"type":"string"},{"type":"number"}]}` {
			t.Errorf("re-encoded as %s", got)
		}
	})
	t.Run("RejectsItemsString", func(t *testing.T) {
		var s DataSchema
		err := json.Unmarshal([]byte(`{"items":"x"}`), &s)
		if !errors.Is(err, ErrInvalidJSON) || !strings.Contains(err.Error(), "$.items: want object, got string") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("RejectsTitleArray", func(t *testing.T) {
		var p PropertyAffordance
		err := json.Unmarshal([]byte(`{"title":["x"]}`), &p)
		if !errors.Is(err, ErrInvalidJSON) || !strings.Contains(err.Error(), "$.title: want string, got array") {
			t.Errorf("err = %v", err)
		}
	})
}

func TestGolden(t *testing.T) {
	out, err := MarshalIndent(readTD(t, "lamp.td.json"), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	out = append(out, '\n')
	const golden = "testdata/lamp.golden.json"
	if *update {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, want) {
		t.Errorf("MarshalIndent differs from %s (run go test -update):\n%s", golden, out)
	}
}

func TestMarshal(t *testing.T) {
	t.Run("DoesNotEscapeHTML", func(t *testing.T) {
		out, err := Marshal(&Thing{Title: "<a> & <b>", Forms: []Form{{Href: "http://h/?a=1&b=<2>"}}})
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != `{"forms":[{"href":"http://h/?a=1&b=<2>"}],"title":"<a> & <b>"}` {
			t.Errorf("got %s", out)
		}
	})
	t.Run("OmitsAbsentMembers", func(t *testing.T) {
		out, _ := Marshal(&Thing{Title: "x", Properties: map[string]*PropertyAffordance{"p": {}}})
		if string(out) != `{"properties":{"p":{}},"title":"x"}` {
			t.Errorf("got %s", out)
		}
	})
	t.Run("KeepsEmptyNonNilSlices", func(t *testing.T) {
		out, _ := json.Marshal(DataSchema{Enum: []any{}, Required: []string{}})
		if string(out) != `{"enum":[],"required":[]}` {
			t.Errorf("got %s", out)
		}
	})
	t.Run("KnownFieldsShadowExtra", func(t *testing.T) {
		f := Form{Href: "mqtt://b", Extra: map[string]json.RawMessage{"href": []byte(`"other"`), "op": []byte(`"x"`), "ex:a": []byte(`1`)}}
		out, _ := json.Marshal(f)
		if string(out) != `{"ex:a":1,"href":"mqtt://b"}` {
			t.Errorf("got %s", out)
		}
	})
	t.Run("MergesEmbeddedSchemaExtra", func(t *testing.T) {
		p := PropertyAffordance{
			DataSchema: DataSchema{Extra: map[string]json.RawMessage{"ex:a": []byte(`1`), "ex:b": []byte(`2`)}},
			Extra:      map[string]json.RawMessage{"ex:b": []byte(`3`)},
		}
		out, _ := json.Marshal(p)
		if string(out) != `{"ex:a":1,"ex:b":3}` {
			t.Errorf("got %s", out)
		}
	})
	t.Run("RejectsInvalidExtra", func(t *testing.T) {
		_, err := Marshal(&Thing{Extra: map[string]json.RawMessage{"bad": []byte(`{`)}})
		if !errors.Is(err, ErrInvalidExtra) {
			t.Errorf("err = %v, want ErrInvalidExtra", err)
		}
	})
	t.Run("NilThingIsNull", func(t *testing.T) {
		out, err := Marshal(nil)
		if err != nil || string(out) != "null" {
			t.Errorf("got %s, %v", out, err)
		}
	})
}

func TestParseRejects(t *testing.T) {
	deep := strings.Repeat(`{"a":`, MaxDepth) + "1" + strings.Repeat("}", MaxDepth)
	tooDeep := `{"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + "}"
	if _, err := Parse([]byte(deep)); err != nil {
		t.Fatalf("Parse rejects depth %d: %v", MaxDepth, err)
	}
	cases := []struct {
		name, input, want string
	}{
		{"RejectsEmptyInput", ``, "syntax error"},
		{"RejectsArray", `[]`, "$: want object, got array"},
		{"RejectsString", `"td"`, "$: want object, got string"},
		{"RejectsNull", `null`, "$: want object, got null"},
		{"RejectsTrailingData", `{} {}`, "after top-level value"},
		{"RejectsSyntaxError", `{"title": }`, "syntax error at offset"},
		{"RejectsTooDeep", tooDeep, "nesting depth exceeds 32"},
		{"RejectsDeepInsideStringsIgnored", `{"title":"` + strings.Repeat("[", 100) + `", "x": 1,}`, "syntax error"},
		{"RejectsTitleNumber", `{"title": 5}`, "$.title: want string, got number"},
		{"RejectsContextNumber", `{"@context": 5}`, "$['@context']: want string, object or array, got number"},
		{"RejectsSecurityNumbers", `{"security": [1]}`, "$.security: want string or array of strings, got array with non-string elements"},
		{"RejectsMinimumString", `{"properties": {"temp": {"minimum": "0"}}}`, "$.properties.temp.minimum: want number, got string"},
		{"RejectsMinimumOutOfRange", `{"properties": {"temp": {"minimum": 1e400}}}`, "$.properties.temp.minimum: number 1e400 is out of range"},
		{"RejectsFractionalMinLength", `{"properties": {"t": {"minLength": 1.5}}}`, "$.properties.t.minLength: want integer, got number 1.5"},
		{"RejectsBadOpInForm", `{"forms": [{"href": "x"}, {"op": {}}]}`, "$.forms[1].op: want string or array of strings, got object"},
		{"RejectsPropertyArray", `{"properties": {"a.b": []}}`, "$.properties['a.b']: want object, got array"},
		{"RejectsNestedSchemaType", `{"actions": {"a": {"input": {"properties": {"x": {"type": 1}}}}}}`, "$.actions.a.input.properties.x.type: want string, got number"},
		{"RejectsTitlesValue", `{"titles": {"en": 5}}`, "$.titles.en: want string, got number"},
		{"RejectsRequiredNumber", `{"properties": {"p": {"required": ["a", 2]}}}`, "$.properties.p.required[1]: want string, got number"},
		{"RejectsRetainString", `{"forms": [{"mqv:retain": "yes"}]}`, "$.forms[0]['mqv:retain']: want boolean, got string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := Parse([]byte(tc.input))
			if err == nil {
				t.Fatalf("Parse succeeded: %+v", th)
			}
			if !errors.Is(err, ErrInvalidJSON) {
				t.Errorf("error %v does not wrap ErrInvalidJSON", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	cases := []struct {
		name, input string
		check       func(*Thing) bool
	}{
		{"AcceptsNullMembersAsAbsent", `{"title": null, "properties": {"p": {"minimum": null}}}`,
			func(th *Thing) bool { return th.Title == "" && th.Properties["p"].Minimum == nil }},
		{"AcceptsSingleStringSecurity", `{"security": "a"}`,
			func(th *Thing) bool { return reflect.DeepEqual(th.Security, Strings{"a"}) }},
		{"AcceptsLeadingWhitespace", " \n\t{\"title\": \"x\"} \n",
			func(th *Thing) bool { return th.Title == "x" }},
		{"AcceptsEscapedBracketsInStrings", `{"title": "[[[{{\"]]"}`,
			func(th *Thing) bool { return th.Title == `[[[{{"]]` }},
		{"DecodesNumbersAsJSONNumber", `{"properties": {"p": {"const": 1.50, "enum": [1, {"a": 2}]}}}`,
			func(th *Thing) bool {
				p := th.Properties["p"]
				return p.Const == json.Number("1.50") && p.Enum[0] == json.Number("1") &&
					p.Enum[1].(map[string]any)["a"] == json.Number("2")
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th, err := Parse([]byte(tc.input))
			if err != nil {
				t.Fatal(err)
			}
			if !tc.check(th) {
				t.Errorf("unexpected result %+v", th)
			}
		})
	}
}

func TestUnmarshalJSONReplacesContent(t *testing.T) {
	f := Form{Href: "old", Op: Strings{"readproperty"}}
	if err := json.Unmarshal([]byte(`{"href": "new"}`), &f); err != nil {
		t.Fatal(err)
	}
	if f.Href != "new" || f.Op != nil {
		t.Errorf("got %+v", f)
	}
	if err := json.Unmarshal([]byte(`null`), &f); err != nil || f.Href != "new" {
		t.Errorf("null changed the form: %+v, %v", f, err)
	}
}

func TestStrings(t *testing.T) {
	cases := []struct {
		name, in, out string
		want          Strings
	}{
		{"DecodesString", `"a"`, `"a"`, Strings{"a"}},
		{"DecodesArray", `["a","b"]`, `["a","b"]`, Strings{"a", "b"}},
		{"EncodesSingletonArrayAsString", `["a"]`, `"a"`, Strings{"a"}},
		{"KeepsEmptyArray", `[]`, `[]`, Strings{}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var s Strings
			if err := json.Unmarshal([]byte(tc.in), &s); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(s, tc.want) {
				t.Errorf("decoded %#v, want %#v", s, tc.want)
			}
			out, err := json.Marshal(s)
			if err != nil || string(out) != tc.out {
				t.Errorf("encoded %s, %v; want %s", out, err, tc.out)
			}
		})
	}
	t.Run("RejectsNumber", func(t *testing.T) {
		var s Strings
		if err := json.Unmarshal([]byte(`1`), &s); !errors.Is(err, ErrInvalidJSON) {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("Contains", func(t *testing.T) {
		s := Strings{"readproperty", "writeproperty"}
		if !s.Contains(OpWriteProperty) || s.Contains(OpObserveProperty) {
			t.Error("Contains is wrong")
		}
	})
}

func TestClone(t *testing.T) {
	orig := readTD(t, "lamp.td.json")
	before, _ := Marshal(orig)
	c := orig.Clone()
	if !reflect.DeepEqual(orig, c) {
		t.Fatal("clone differs from original")
	}

	// Mutate everything reachable from the clone.
	c.Title = "changed"
	c.Extra["ex:serialNumber"][1] = 'X'
	c.Context.SetPrefix("ex", "https://changed.example/")
	c.Security[0] = "basic_sc"
	c.SecurityDefinitions["basic_sc"].In = "query"
	on := c.Properties["on"]
	on.Forms[0].Op[0] = OpWriteProperty
	*on.Forms[1].MQTTRetain = true
	on.Forms[0].Extra["ex:hint"] = json.RawMessage(`null`)
	c.Properties["brightness"].DataSchema.Minimum = nil
	*c.Properties["status"].Properties["tags"].MaxItems = 99
	c.Properties["status"].Properties["mode"].Enum[0] = "changed"
	c.Actions["fade"].Input.Required[0] = "x"
	c.Events["overheating"].Data.Unit = "K"
	delete(c.Properties, "log")

	after, _ := Marshal(orig)
	if !bytes.Equal(before, after) {
		t.Errorf("mutating the clone changed the original:\n%s\n%s", before, after)
	}
	t.Run("NilThing", func(t *testing.T) {
		var th *Thing
		if th.Clone() != nil {
			t.Error("Clone of nil is not nil")
		}
	})
	t.Run("KeepsNilVersusEmpty", func(t *testing.T) {
		th := &Thing{Forms: []Form{}, Titles: map[string]string{}}
		c := th.Clone()
		if c.Forms == nil || c.Titles == nil || c.Descriptions != nil {
			t.Errorf("got %+v", c)
		}
	})
}

func TestAffordanceNames(t *testing.T) {
	props, actions, events := readTD(t, "lamp.td.json").AffordanceNames()
	if !reflect.DeepEqual(props, []string{"brightness", "log", "on", "status"}) ||
		!reflect.DeepEqual(actions, []string{"fade"}) || !reflect.DeepEqual(events, []string{"overheating"}) {
		t.Errorf("got %v %v %v", props, actions, events)
	}
}

func TestPathFormatting(t *testing.T) {
	cases := []struct{ name, want string }{
		{"temp", "$.temp"},
		{"_x1", "$._x1"},
		{"a.b", "$['a.b']"},
		{"@context", "$['@context']"},
		{"1st", "$['1st']"},
		{"", "$['']"},
		{"it's", `$['it\'s']`},
		{"mqv:qos", "$['mqv:qos']"},
	}
	for _, tc := range cases {
		if got := pathKey("$", tc.name); got != tc.want {
			t.Errorf("pathKey(%q) = %s, want %s", tc.name, got, tc.want)
		}
	}
}
