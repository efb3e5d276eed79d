package explorer

import (
	"encoding/json"
	"strconv"

	"github.com/wotmq/wotmq/td"
)

// field is a form control built from a data schema: what a property write
// or an action input is entered with. The page's script turns it into the
// JSON value it sends; the hub validates that value against the same
// schema and the page shows its refusal, so the form does not validate by
// itself (novalidate).
type field struct {
	Kind        string // bool, number, enum, string, object, json
	ID          string // the element ID, unique in the page
	Key         string // the member name, in an object
	Label       string
	QuietLabel  bool // the label is for screen readers only (the row names the property)
	Description string
	Unit        string
	Min, Max    string
	Step        string
	Options     []option // enum values
	Required    bool
	Value       string // the initial value: default or const
	Fields      []*field
}

type option struct{ Label, JSON string }

// fieldOf builds the control of a value of schema s. Objects whose members
// are plain values get one control per member; anything else nested is
// entered as JSON.
func fieldOf(prefix, name string, s *td.DataSchema, depth int) *field {
	f := &field{ID: prefix + "-" + name, Key: name, Label: name, Description: s.Description, Unit: s.Unit}
	if s.Title != "" {
		f.Label = s.Title
	}
	if s.Default != nil {
		f.Value = jsonText(s.Default)
	}
	switch {
	case len(s.Enum) > 0:
		f.Kind = "enum"
		for _, v := range s.Enum {
			j := jsonText(v)
			label := j
			if str, ok := v.(string); ok {
				label = str
			}
			f.Options = append(f.Options, option{Label: label, JSON: j})
		}
	case s.Type == "boolean":
		f.Kind = "bool"
	case s.Type == "integer" || s.Type == "number":
		f.Kind = "number"
		if s.Minimum != nil {
			f.Min = num(*s.Minimum)
		}
		if s.Maximum != nil {
			f.Max = num(*s.Maximum)
		}
		switch {
		case s.MultipleOf != nil:
			f.Step = num(*s.MultipleOf)
		case s.Type == "integer":
			f.Step = "1"
		default:
			f.Step = "any"
		}
	case s.Type == "string":
		f.Kind = "string"
		if str, ok := s.Default.(string); ok {
			f.Value = str
		}
	case s.Type == "object" && depth == 0 && len(s.Properties) > 0 && plainMembers(s):
		f.Kind = "object"
		for _, k := range sortedKeys(s.Properties) {
			sub := fieldOf(f.ID, k, s.Properties[k], depth+1)
			for _, req := range s.Required {
				if req == k {
					sub.Required = true
				}
			}
			f.Fields = append(f.Fields, sub)
		}
	default:
		f.Kind = "json"
	}
	return f
}

func plainMembers(s *td.DataSchema) bool {
	for _, m := range s.Properties {
		if m.Type == "object" || m.Type == "array" || m.Type == "" && len(m.Enum) == 0 {
			return false
		}
	}
	return true
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return ""
	}
	return string(b)
}

func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
