package homeassistant

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/wotmq/wotmq/bridge/unit"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// DefaultPrefix is Home Assistant's default discovery prefix.
const DefaultPrefix = "homeassistant"

// Origin names the software that publishes the discovery configs (the
// "o" mapping Home Assistant requires).
type Origin struct {
	Name    string `json:"name"`
	Version string `json:"sw,omitempty"`
	URL     string `json:"url,omitempty"`
}

// DefaultOrigin is wotmq without a version.
var DefaultOrigin = Origin{Name: "wotmq", URL: "https://github.com/wotmq/wotmq/blob/main/docs/bridges.md"}

// ConfigTopic is where the device discovery config of a Thing is retained:
// {prefix}/device/{object ID}/config.
func ConfigTopic(prefix, thingID string) string {
	return prefix + "/device/" + ObjectID(thingID) + "/config"
}

// ObjectID is the Home Assistant ID of a Thing: its ID when that holds
// only a-z, 0-9 and _, else the ID lowered with every run of other
// characters made one _, then _ and the first 8 hex digits of the SHA-256
// of the ID, so that two Thing IDs never share one ("lamp-1" and "lamp_1"
// differ in their hash). It never changes for a Thing ID.
func ObjectID(id string) string { return slug(id) }

func slug(s string) string {
	valid := s != ""
	var b strings.Builder
	under := false
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
			under = false
		case r == '_':
			b.WriteRune(r)
			under = true
		case r >= 'A' && r <= 'Z':
			b.WriteRune(r + 'a' - 'A')
			under = false
			valid = false
		default:
			valid = false
			if !under && b.Len() > 0 {
				b.WriteByte('_')
				under = true
			}
		}
	}
	if valid {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	out := strings.TrimSuffix(b.String(), "_")
	if out != "" {
		out += "_"
	}
	return out + hex.EncodeToString(sum[:4])
}

// Skipped is an affordance the config leaves out, and why.
type Skipped struct{ Kind, Name, Why string }

// Config is the device discovery config of a Thing, from its TD (the
// agent's or the twin's: only the affordances and their schemas count),
// and the affordances it could not map; nil when none maps (Home
// Assistant wants at least one component). Every component's state and
// command topics are the twin's own (docs/topics.md).
func Config(t *td.Thing, o Origin) ([]byte, []Skipped, error) {
	obj := ObjectID(t.ID)
	cmps := map[string]map[string]any{}
	var skipped []Skipped
	add := func(kind, name string, c map[string]any, why string) {
		if c == nil {
			skipped = append(skipped, Skipped{kind, name, why})
			return
		}
		id := kind[:1] + "_" + slug(name)
		c["unique_id"] = "wotmq_" + obj + "_" + id
		cmps[id] = c
	}
	for _, name := range sorted(t.Properties) {
		c, why := propertyComponent(t.ID, name, t.Properties[name])
		add("property", name, c, why)
	}
	for _, name := range sorted(t.Actions) {
		c, why := actionComponent(t.ID, name, t.Actions[name])
		add("action", name, c, why)
	}
	for _, name := range sorted(t.Events) {
		e := t.Events[name]
		if name == twin.PresenceEvent && string(e.Extra["wotmq:hub"]) == "true" {
			continue // the hub's own: availability says it
		}
		add("event", name, eventComponent(t.ID, name, e), "")
	}
	if len(cmps) == 0 {
		return nil, skipped, nil // no entity: no device
	}
	dev := map[string]any{"ids": []string{"wotmq_" + obj}, "name": title(t.Title, t.ID)}
	if len(t.Type) > 0 {
		dev["mdl"] = strings.Join(t.Type, ", ")
	}
	var version struct {
		Instance string `json:"instance"`
	}
	if json.Unmarshal(t.Extra["version"], &version) == nil && version.Instance != "" {
		dev["sw"] = version.Instance
	}
	cfg := map[string]any{
		"dev":  dev,
		"o":    o,
		"cmps": cmps,
		"qos":  1,
		// A sleeping Thing stays available: what HA sends it waits in
		// its inbox (docs/topics.md, "Presence").
		"availability": []map[string]any{{
			"topic":          wire.Topic{Kind: wire.TopicPresence, ThingID: t.ID}.String(),
			"value_template": "{{ 'online' if value_json.state in ('online', 'sleeping') else 'offline' }}",
		}},
	}
	b, err := json.MarshalIndent(cfg, "", "  ")
	return b, skipped, err
}

func sorted[V any](m map[string]V) []string {
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

func title(t, name string) string {
	if t != "" {
		return t
	}
	return name
}

// JSON templates: HA renders a JSON true as Python's True, so booleans are
// never templated (payload_on and payload_off compare the raw payload).
const (
	valueJSON     = "{{ value_json }}"
	commandString = "{{ value | tojson }}" // HA sends the raw option or text
	commandInt    = "{{ value | int }}"    // HA may send 21.0
)

func propertyComponent(thingID, name string, p *td.PropertyAffordance) (map[string]any, string) {
	s := &p.DataSchema
	c := map[string]any{"name": title(p.InteractionAffordance.Title, name)}
	if !p.WriteOnly {
		c["state_topic"] = wire.PropertyTopic(thingID, name)
	} else {
		c["optimistic"] = true
	}
	writable := !s.ReadOnly
	if writable {
		c["command_topic"] = wire.Topic{Kind: wire.TopicPropertySet, ThingID: thingID, Name: name}.String()
	} else if p.WriteOnly {
		return nil, "read-only and write-only"
	}
	types := p.InteractionAffordance.Type
	switch s.Type {
	case "boolean":
		c["payload_on"], c["payload_off"] = "true", "false"
		if !writable {
			c["p"] = "binary_sensor"
			setClass(c, types, binaryClasses)
		} else {
			c["p"] = "switch"
		}
	case "integer", "number":
		if u := unit.Symbol(s.Unit); u != "" {
			c["unit_of_measurement"] = u
		}
		if !p.WriteOnly {
			c["value_template"] = valueJSON
		}
		if !writable {
			c["p"] = "sensor"
			c["state_class"] = "measurement"
			setClass(c, types, sensorClasses)
			break
		}
		c["p"] = "number"
		lo, hi := bounds(s)
		c["min"], c["max"] = lo, hi
		if s.Minimum == nil && s.Maximum == nil {
			c["mode"] = "box"
		}
		switch {
		case s.MultipleOf != nil:
			c["step"] = *s.MultipleOf
		case s.Type == "integer":
			c["step"] = 1
		default:
			c["step"] = 0.001
		}
		if s.Type == "integer" {
			c["command_template"] = commandInt
		}
	case "string":
		if !p.WriteOnly {
			c["value_template"] = valueJSON
		}
		opts, isEnum := stringEnum(s.Enum)
		switch {
		case isEnum && writable:
			c["p"] = "select"
			c["options"] = opts
			c["command_template"] = commandString
		case isEnum:
			c["p"] = "sensor"
			c["device_class"] = "enum"
			c["options"] = opts
		case writable:
			c["p"] = "text"
			c["command_template"] = commandString
			if s.MinLength != nil {
				c["min"] = min(*s.MinLength, 255)
			}
			c["max"] = 255 // HA's longest state
			if s.MaxLength != nil {
				c["max"] = min(*s.MaxLength, 255)
			}
		default:
			c["p"] = "sensor"
			if s.Format == "date-time" {
				c["device_class"] = "timestamp"
			}
		}
	default:
		return nil, "no Home Assistant platform for a value of type " + typeName(s.Type)
	}
	return c, ""
}

func actionComponent(thingID, name string, a *td.ActionAffordance) (map[string]any, string) {
	if a.Input != nil {
		return nil, "an action with input has no Home Assistant platform"
	}
	return map[string]any{
		"p":             "button",
		"name":          title(a.Title, name),
		"command_topic": wire.ActionTopic(thingID, name),
		"payload_press": "", // no input: an empty request
	}, ""
}

func eventComponent(thingID, name string, e *td.EventAffordance) map[string]any {
	n, _ := json.Marshal(name) // a JSON string is a Jinja string literal
	return map[string]any{
		"p":              "event",
		"name":           title(e.Title, name),
		"state_topic":    wire.EventTopic(thingID, name),
		"event_types":    []string{name},
		"value_template": "{% if value %}{{ {'event_type': " + string(n) + ", 'value': value_json} | tojson }}{% else %}{{ {'event_type': " + string(n) + "} | tojson }}{% endif %}",
	}
}

func typeName(t string) string {
	if t == "" {
		return "any"
	}
	return t
}

// bounds are a number's min and max for HA's number platform, whose own
// defaults (1 and 100) would refuse most values: the TD's, else those of
// a 32-bit integer.
func bounds(s *td.DataSchema) (float64, float64) {
	lo, hi := float64(math.MinInt32), float64(math.MaxInt32)
	if s.Minimum != nil {
		lo = *s.Minimum
	} else if s.ExclusiveMinimum != nil {
		lo = *s.ExclusiveMinimum
	}
	if s.Maximum != nil {
		hi = *s.Maximum
	} else if s.ExclusiveMaximum != nil {
		hi = *s.ExclusiveMaximum
	}
	return lo, hi
}

// stringEnum is an enum of strings only (HA options are strings).
func stringEnum(enum []any) ([]string, bool) {
	if len(enum) == 0 {
		return nil, false
	}
	opts := make([]string, 0, len(enum))
	for _, v := range enum {
		s, ok := v.(string)
		if !ok {
			return nil, false
		}
		opts = append(opts, s)
	}
	return opts, true
}

// Device classes by the last term of an @type (saref:Temperature,
// iot:TemperatureSensing...), lower case, first match.
var sensorClasses = []struct{ term, class string }{
	{"temperature", "temperature"}, {"humidity", "humidity"}, {"illuminance", "illuminance"},
	{"luminosity", "illuminance"}, {"energy", "energy"}, {"power", "power"}, {"voltage", "voltage"},
	{"current", "current"}, {"pressure", "pressure"}, {"battery", "battery"}, {"co2", "carbon_dioxide"},
	{"carbondioxide", "carbon_dioxide"}, {"frequency", "frequency"},
}

var binaryClasses = []struct{ term, class string }{
	{"motion", "motion"}, {"occupancy", "occupancy"}, {"door", "door"}, {"window", "window"},
	{"contact", "opening"}, {"smoke", "smoke"}, {"leak", "moisture"}, {"moisture", "moisture"},
}

func setClass(c map[string]any, types []string, table []struct{ term, class string }) {
	for _, t := range types {
		if i := strings.LastIndexAny(t, ":#/"); i >= 0 {
			t = t[i+1:]
		}
		t = strings.ToLower(t)
		for _, e := range table {
			if strings.Contains(t, e.term) {
				c["device_class"] = e.class
				return
			}
		}
	}
}

// CheckPrefix checks a discovery prefix: topic levels without wildcards,
// outside the hub's own namespaces ("" is DefaultPrefix).
func CheckPrefix(prefix string) error {
	if prefix == "" {
		return nil
	}
	switch {
	case strings.ContainsAny(prefix, "+#\x00"), strings.HasPrefix(prefix, "/"), strings.HasSuffix(prefix, "/"), strings.Contains(prefix, "//"):
		return fmt.Errorf("homeassistant: discovery prefix %q: want topic levels without wildcards or empty levels", prefix)
	case !wire.IsFreeTopic(prefix):
		return fmt.Errorf("homeassistant: discovery prefix %q is in the hub's namespace (docs/topics.md)", prefix)
	}
	return nil
}
