package td

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

// problemPaths returns the paths of a Validate error, or nil.
func problemPaths(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("error %v is not a *ValidationError", err)
	}
	if !errors.Is(err, ErrInvalidTD) {
		t.Errorf("error %v does not wrap ErrInvalidTD", err)
	}
	paths := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		paths[i] = p.Path
	}
	return paths
}

func TestValidateInvalidTDs(t *testing.T) {
	cases := []struct {
		name  string
		file  string
		paths []string
	}{
		{"RejectsMissingTitle", "missing-title.td.json", []string{"$.title"}},
		{"RejectsMissingContext", "missing-context.td.json", []string{"$['@context']"}},
		{"RejectsForeignContext", "bad-context.td.json", []string{"$['@context']", "$['@context'][1]"}},
		{"RejectsMissingSecurity", "no-security.td.json", []string{"$.security", "$.securityDefinitions"}},
		{"RejectsBadSecurity", "bad-security.td.json", []string{
			"$.security",
			"$.securityDefinitions.combo2_sc.allOf",
			"$.securityDefinitions.combo_sc",
			"$.securityDefinitions.key_sc.in",
			"$.securityDefinitions.magic_sc.scheme",
			"$.securityDefinitions.noscheme_sc.scheme",
			"$.properties.p.forms[0].security",
		}},
		{"RejectsOpsOfOtherAffordances", "bad-ops.td.json", []string{
			"$.properties.p.forms[0].op",
			"$.actions.a.forms[0].op",
			"$.events.e.forms[0].op",
			"$.forms[0].op",
			"$.forms[1].op",
		}},
		{"RejectsBadForms", "bad-forms.td.json", []string{
			"$.properties.mqtt.forms[0].contentType",
			"$.properties.mqtt.forms[0]['mqv:controlPacket']",
			"$.properties.mqtt.forms[0]['mqv:qos']",
			"$.properties.noforms.forms",
			"$.properties.nohref.forms[0].href",
			"$.actions['a.b'].forms",
		}},
		{"RejectsMalformedSchemas", "bad-schemas.td.json", []string{
			"$.properties.list.minItems",
			"$.properties.list.items.multipleOf",
			"$.properties.obj.required",
			"$.properties.obj.properties.x.exclusiveMinimum",
			"$.properties.range.type",
			"$.properties.range.minimum",
			"$.properties.text.minLength",
			"$.properties.text.enum",
			"$.properties.text.pattern",
			"$.actions.act.input.oneOf[0].type",
			"$.actions.act.output.items[1].maxLength",
		}},
		{"RejectsWritingReadOnly", "readonly-write.td.json", []string{
			"$.properties.ro.forms[0].op",
			"$.properties.wo.forms[1].op",
		}},
		{"RejectsBadNamesAndLinks", "bad-names.td.json", []string{
			"$.properties['']",
			"$.events['null-event']",
			"$.links[0].href",
			"$.links[1].href",
			"$.links[2].href",
			"$.schemaDefinitions.s.maxLength",
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th := readTD(t, "invalid/"+tc.file)
			err := Validate(th, ValidateOptions{})
			if got := problemPaths(t, err); !reflect.DeepEqual(got, tc.paths) {
				t.Errorf("paths:\n got  %q\n want %q\nerror: %v", got, tc.paths, err)
			}
		})
	}
}

func TestValidateValidTDs(t *testing.T) {
	cases := []struct {
		name string
		file string
		opts ValidateOptions
	}{
		{"AcceptsLamp", "lamp.td.json", ValidateOptions{}},
		{"AcceptsMinimal", "minimal.td.json", ValidateOptions{}},
		{"AcceptsAgentWithoutForms", "agent.td.json", ValidateOptions{FormsOptional: true}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := Validate(readTD(t, tc.file), tc.opts); err != nil {
				t.Errorf("Validate: %v", err)
			}
		})
	}
	t.Run("RejectsAgentWithoutFormsByDefault", func(t *testing.T) {
		err := Validate(readTD(t, "agent.td.json"), ValidateOptions{})
		want := []string{"$.properties.temperature.forms", "$.actions.reset.forms", "$.events.alarm.forms"}
		if got := problemPaths(t, err); !reflect.DeepEqual(got, want) {
			t.Errorf("paths %q, want %q", got, want)
		}
	})
}

// validThing returns a minimal valid Thing to break in tests.
func validThing() *Thing {
	return &Thing{
		Context:             NewContext(ContextV11),
		Title:               "T",
		Security:            Strings{"nosec_sc"},
		SecurityDefinitions: map[string]*SecurityScheme{"nosec_sc": {Scheme: SchemeNoSec}},
	}
}

func TestValidateBuiltThings(t *testing.T) {
	cyclic := &DataSchema{Type: TypeArray}
	cyclic.Items = cyclic
	cases := []struct {
		name   string
		mutate func(*Thing)
		paths  []string
	}{
		{"AcceptsValid", func(*Thing) {}, nil},
		{"AcceptsTD10Context", func(th *Thing) { th.Context = NewContext(ContextV10) }, nil},
		{"AcceptsExtensionScheme", func(th *Thing) {
			th.SecurityDefinitions["ace_sc"] = &SecurityScheme{Scheme: "ace:ACESecurityScheme"}
		}, nil},
		{"RejectsBlankTitle", func(th *Thing) { th.Title = " \t" }, []string{"$.title"}},
		{"RejectsEmptySecurityArray", func(th *Thing) { th.Security = Strings{} }, []string{"$.security"}},
		{"RejectsNilScheme", func(th *Thing) { th.SecurityDefinitions["x"] = nil }, []string{"$.securityDefinitions.x"}},
		{"RejectsEmptySchemeName", func(th *Thing) {
			th.SecurityDefinitions[""] = &SecurityScheme{Scheme: SchemeNoSec}
		}, []string{"$.securityDefinitions['']"}},
		{"RejectsAutoWithName", func(th *Thing) {
			th.SecurityDefinitions["a"] = &SecurityScheme{Scheme: SchemeAuto, Name: "k"}
		}, []string{"$.securityDefinitions.a.name"}},
		{"RejectsSelfReferencingCombo", func(th *Thing) {
			th.SecurityDefinitions["c"] = &SecurityScheme{Scheme: SchemeCombo,
				Extra: map[string]json.RawMessage{"oneOf": json.RawMessage(`["c"]`)}}
		}, []string{"$.securityDefinitions.c.oneOf", "$.securityDefinitions.c.oneOf"}},
		{"RejectsMalformedComboList", func(th *Thing) {
			th.SecurityDefinitions["c"] = &SecurityScheme{Scheme: SchemeCombo,
				Extra: map[string]json.RawMessage{"allOf": json.RawMessage(`"nosec_sc"`)}}
		}, []string{"$.securityDefinitions.c.allOf"}},
		{"RejectsBadID", func(th *Thing) { th.ID = "http://[::1" }, []string{"$.id"}},
		{"RejectsNilProperty", func(th *Thing) {
			th.Properties = map[string]*PropertyAffordance{"p": nil}
		}, []string{"$.properties.p"}},
		{"RejectsNilURIVariable", func(th *Thing) {
			th.Actions = map[string]*ActionAffordance{"a": {InteractionAffordance: InteractionAffordance{
				Forms:        []Form{{Href: "mqtt://b"}},
				URIVariables: map[string]*DataSchema{"v": nil},
			}}}
		}, []string{"$.actions.a.uriVariables.v"}},
		{"RejectsBadEventSchemas", func(th *Thing) {
			th.Events = map[string]*EventAffordance{"e": {
				InteractionAffordance: InteractionAffordance{Forms: []Form{{Href: "mqtt://b"}}},
				Data:                  &DataSchema{Type: "float"},
				Cancellation:          &DataSchema{OneOf: []*DataSchema{nil}},
			}}
		}, []string{"$.events.e.data.type", "$.events.e.cancellation.oneOf[0]"}},
		{"RejectsCyclicSchemaWithoutHanging", func(th *Thing) {
			th.Actions = map[string]*ActionAffordance{"a": {
				InteractionAffordance: InteractionAffordance{Forms: []Form{{Href: "mqtt://b"}}},
				Input:                 cyclic,
			}}
		}, []string{"$.actions.a.input" + strings.Repeat(".items", MaxDepth+1)}},
		{"RejectsBadLinks", func(th *Thing) { th.Extra = map[string]json.RawMessage{"links": json.RawMessage(`{}`)} }, []string{"$.links"}},
		{"RejectsSchemaDefinitionsArray", func(th *Thing) {
			th.Extra = map[string]json.RawMessage{"schemaDefinitions": json.RawMessage(`[]`)}
		}, []string{"$.schemaDefinitions"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			th := validThing()
			tc.mutate(th)
			err := Validate(th, ValidateOptions{})
			if got := problemPaths(t, err); !reflect.DeepEqual(got, tc.paths) {
				t.Errorf("paths:\n got  %q\n want %q\nerror: %v", got, tc.paths, err)
			}
		})
	}
	t.Run("RejectsNilThing", func(t *testing.T) {
		if got := problemPaths(t, Validate(nil, ValidateOptions{})); !reflect.DeepEqual(got, []string{"$"}) {
			t.Errorf("paths %q", got)
		}
	})
}

func TestValidationErrorMessage(t *testing.T) {
	th := validThing()
	th.Title = ""
	th.Security = nil
	err := Validate(th, ValidateOptions{})
	const want = "td: invalid Thing Description: $.title: required; $.security: at least one security definition name required"
	if err == nil || err.Error() != want {
		t.Errorf("got  %v\nwant %s", err, want)
	}
}

func TestOpClassifiers(t *testing.T) {
	cases := []struct {
		op                            string
		property, action, event, root bool
	}{
		{OpReadProperty, true, false, false, false},
		{OpUnobserveProperty, true, false, false, false},
		{OpCancelAction, false, true, false, false},
		{OpUnsubscribeEvent, false, false, true, false},
		{OpQueryAllActions, false, false, false, true},
		{OpWriteMultipleProperties, false, false, false, true},
		{"bogus", false, false, false, false},
	}
	for _, tc := range cases {
		if IsPropertyOp(tc.op) != tc.property || IsActionOp(tc.op) != tc.action ||
			IsEventOp(tc.op) != tc.event || IsThingOp(tc.op) != tc.root {
			t.Errorf("classification of %q is wrong", tc.op)
		}
	}
}
