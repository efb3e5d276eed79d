package homie

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/wotmq/wotmq/bridge/unit"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
)

// Root is the Homie 5 root topic: domain "homie", major version 5.
const Root = "homie/5"

// Nodes of every device: one per kind of affordance.
const (
	NodeProperties = "properties"
	NodeActions    = "actions"
	NodeEvents     = "events"
)

// Invoke is the one value of the enum property of an action without
// input: publishing it on .../set invokes the action.
const Invoke = "invoke"

// DeviceID is the Homie ID of a Thing: its ID when that is already a
// Homie ID (a-z, 0-9 and -, not starting or ending with -), else the ID
// lowered with every run of other characters made one -, then - and the
// first 8 hex digits of the SHA-256 of the ID. It depends on the ID alone,
// so it never changes; two Thing IDs with the same device ID (one of them
// would have to look like another's slug and hash) are caught by the
// bridge, which publishes the first and logs the second.
func DeviceID(thingID string) string { return slug(thingID, 8) }

// slug makes s a Homie ID; a changed s gets hex digits of its hash.
func slug(s string, hashLen int) string {
	var b strings.Builder
	dash := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			dash = false
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
			dash = false
		default:
			if !dash && b.Len() > 0 {
				b.WriteByte('-')
				dash = true
			}
		}
	}
	out := strings.TrimSuffix(b.String(), "-")
	if out == s {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	if out != "" {
		out += "-"
	}
	return out + hex.EncodeToString(sum[:hashLen/2])
}

// Property is a Homie property as the $description lists it, with what
// the bridge needs to convert its values.
type Property struct {
	Name     string `json:"name,omitempty"`
	Datatype string `json:"datatype"`
	Format   string `json:"format,omitempty"`
	Settable bool   `json:"settable,omitempty"`
	Retained *bool  `json:"retained,omitempty"` // nil: the default, true
	Unit     string `json:"unit,omitempty"`

	kind string // "property", "action" or "event"
	name string // the affordance
	// noInput marks an action without input (enum "invoke").
	noInput bool
	// text marks a value of no JSON type the Homie datatypes know,
	// carried as its JSON text in a string.
	text bool
}

// Node is a Homie node.
type Node struct {
	Name       string               `json:"name,omitempty"`
	Properties map[string]*Property `json:"properties"`
}

// Description is a device's $description document.
type Description struct {
	Homie   string           `json:"homie"`
	Version int64            `json:"version"`
	Name    string           `json:"name,omitempty"`
	Nodes   map[string]*Node `json:"nodes,omitempty"`
}

// property finds a property by node and ID.
func (d *Description) property(node, id string) *Property {
	if n := d.Nodes[node]; n != nil {
		return n.Properties[id]
	}
	return nil
}

// Describe builds the $description of a Thing from its TD (the agent's or
// the twin's) with version 0, and lists the affordances it left out.
func Describe(t *td.Thing) (*Description, []string) {
	d := &Description{Homie: "5.0", Name: t.Title, Nodes: map[string]*Node{}}
	var skipped []string
	add := func(node, title, name string, p *Property, why string) {
		if p == nil {
			skipped = append(skipped, node+"/"+name+": "+why)
			return
		}
		n := d.Nodes[node]
		if n == nil {
			n = &Node{Name: title, Properties: map[string]*Property{}}
			d.Nodes[node] = n
		}
		id := slug(name, 4)
		if _, taken := n.Properties[id]; taken {
			skipped = append(skipped, node+"/"+name+": its Homie ID "+id+" is taken")
			return
		}
		n.Properties[id] = p
	}
	notRetained := false
	for _, name := range sorted(t.Properties) {
		a := t.Properties[name]
		p, why := fromSchema(&a.DataSchema)
		if p != nil {
			p.kind, p.name, p.Name = "property", name, or(a.InteractionAffordance.Title, name)
			p.Settable = !a.ReadOnly && !p.text
			if a.WriteOnly {
				p.Retained = &notRetained
			}
		}
		add(NodeProperties, "Properties", name, p, why)
	}
	for _, name := range sorted(t.Actions) {
		a := t.Actions[name]
		p, why := &Property{Datatype: "enum", Format: Invoke, noInput: true}, ""
		if a.Input != nil {
			p, why = fromSchema(a.Input)
		}
		if p != nil {
			if p.text {
				p, why = nil, "its input has no Homie datatype"
			} else {
				p.kind, p.name, p.Name = "action", name, or(a.Title, name)
				p.Settable, p.Retained = true, &notRetained
			}
		}
		add(NodeActions, "Actions", name, p, why)
	}
	for _, name := range sorted(t.Events) {
		e := t.Events[name]
		if name == twin.PresenceEvent && string(e.Extra["wotmq:hub"]) == "true" {
			continue // the hub's own: $state says it
		}
		p, why := &Property{Datatype: "enum", Format: name, noInput: true}, ""
		if e.Data != nil {
			p, why = fromSchema(e.Data)
		}
		if p != nil {
			p.kind, p.name, p.Name, p.Retained = "event", name, or(e.Title, name), &notRetained
		}
		add(NodeEvents, "Events", name, p, why)
	}
	return d, skipped
}

// fromSchema is the Homie datatype and format of a data schema. A schema
// of no type (or null) is carried as JSON text in a string, read-only.
func fromSchema(s *td.DataSchema) (*Property, string) {
	p := &Property{Unit: unit.Symbol(s.Unit)}
	switch s.Type {
	case "boolean":
		p.Datatype = "boolean"
	case "integer":
		p.Datatype = "integer"
		p.Format = numberFormat(s, true)
	case "number":
		p.Datatype = "float"
		p.Format = numberFormat(s, false)
	case "string":
		switch opts, ok := enumFormat(s.Enum); {
		case ok:
			p.Datatype, p.Format = "enum", opts
		case s.Format == "date-time":
			p.Datatype = "datetime"
		case s.Format == "duration":
			p.Datatype = "duration"
		default:
			p.Datatype = "string"
		}
	case "object", "array":
		p.Datatype = "json"
	default:
		p.Datatype, p.text = "string", true
	}
	return p, ""
}

// numberFormat is "[min]:[max][:step]", "" when the schema bounds nothing.
func numberFormat(s *td.DataSchema, integer bool) string {
	num := func(f *float64) string {
		if f == nil {
			return ""
		}
		if integer {
			return strconv.FormatFloat(*f, 'f', 0, 64)
		}
		return strconv.FormatFloat(*f, 'f', -1, 64)
	}
	if s.Minimum == nil && s.Maximum == nil && s.MultipleOf == nil {
		return ""
	}
	f := num(s.Minimum) + ":" + num(s.Maximum)
	if s.MultipleOf != nil {
		f += ":" + num(s.MultipleOf)
	}
	return f
}

// enumFormat is the Homie enum format of a TD enum: strings only, none
// empty, none with a comma, no duplicates.
func enumFormat(enum []any) (string, bool) {
	if len(enum) == 0 {
		return "", false
	}
	seen := map[string]bool{}
	opts := make([]string, 0, len(enum))
	for _, v := range enum {
		s, ok := v.(string)
		if !ok || s == "" || strings.Contains(s, ",") || seen[s] {
			return "", false
		}
		seen[s] = true
		opts = append(opts, s)
	}
	return strings.Join(opts, ","), true
}

func sorted[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// marshal encodes d with its version.
func (d *Description) marshal(version int64) []byte {
	cp := *d
	cp.Version = version
	b, _ := json.Marshal(&cp) // plain data: cannot fail
	return b
}
