package td

import (
	"encoding/json"
	"maps"
	"reflect"
	"slices"
)

// Thing is a Thing Description: the top-level object of a TD document.
//
// The "td" struct tags of this package's types name their JSON members; see
// the package documentation for how they are encoded and decoded.
type Thing struct {
	Context Context `td:"@context"` // JSON-LD context, must include ContextV11
	ID      string  `td:"id"`       // identifier (a URI), optional
	Type    Strings `td:"@type"`    // semantic annotations

	Title        string            `td:"title"`        // default-language title, required
	Titles       map[string]string `td:"titles"`       // titles by language tag
	Description  string            `td:"description"`  // default-language description
	Descriptions map[string]string `td:"descriptions"` // descriptions by language tag

	// Base is the URI that relative form hrefs resolve against.
	Base string `td:"base"`

	// Security names the securityDefinitions that apply to every form that
	// does not name its own.
	Security Strings `td:"security"`
	// SecurityDefinitions are the security schemes, by name.
	SecurityDefinitions map[string]*SecurityScheme `td:"securityDefinitions"`

	Properties map[string]*PropertyAffordance `td:"properties"` // by name
	Actions    map[string]*ActionAffordance   `td:"actions"`    // by name
	Events     map[string]*EventAffordance    `td:"events"`     // by name

	// Forms are the Thing-level forms (readallproperties, ...).
	Forms []Form `td:"forms"`
	// Extra holds every member not named above, verbatim: links, version,
	// created, modified, support, schemaDefinitions, profile, @-keywords
	// such as @language, and extension members such as "ex:foo".
	Extra map[string]json.RawMessage
}

// SecurityScheme is one entry of a Thing's securityDefinitions.
type SecurityScheme struct {
	// Scheme is the scheme name: nosec, auto, combo, basic, digest, apikey,
	// bearer, psk, oauth2, or a prefixed extension scheme such as
	// "ace:ACESecurityScheme".
	Scheme string `td:"scheme"`
	// Description is the default-language description.
	Description string `td:"description"`
	// In is where credentials go (header, query, body, cookie, uri, auto)
	// for the apikey, basic, digest and bearer schemes.
	In string `td:"in"`
	// Name is the name of the header, query parameter, ... that carries
	// the credentials.
	Name string `td:"name"`
	// Extra holds every other member verbatim (proxy, oneOf/allOf of a
	// combo scheme, flow/authorization/token of oauth2, ...).
	Extra map[string]json.RawMessage
}

// Form is a hypermedia control: how to perform operations on an affordance
// (or on the whole Thing) with a given protocol.
type Form struct {
	Href        string  `td:"href"`        // target URI or URI template, required
	ContentType string  `td:"contentType"` // media type, default application/json
	Op          Strings `td:"op"`          // operation types, see the Op constants
	Subprotocol string  `td:"subprotocol"` // e.g. longpoll, websub, sse
	Security    Strings `td:"security"`    // overrides the Thing's security

	// MQTTControlPacket is "mqv:controlPacket": publish, subscribe or
	// unsubscribe.
	MQTTControlPacket string `td:"mqv:controlPacket"`
	// MQTTTopic is "mqv:topic", the topic to publish to.
	MQTTTopic string `td:"mqv:topic"`
	// MQTTFilter is "mqv:filter", the topic filter to subscribe to.
	MQTTFilter string `td:"mqv:filter"`
	// MQTTQoS is "mqv:qos": "0", "1" or "2".
	MQTTQoS string `td:"mqv:qos"`
	// MQTTRetain is "mqv:retain"; nil when absent.
	MQTTRetain *bool `td:"mqv:retain"`

	// HTTPMethod is "htv:methodName", e.g. GET or PUT.
	HTTPMethod string `td:"htv:methodName"`

	// Extra holds every other member verbatim (response,
	// additionalResponses, scopes, contentCoding, other bindings' terms...).
	Extra map[string]json.RawMessage
}

// InteractionAffordance holds the members shared by properties, actions and
// events. It is embedded in PropertyAffordance, ActionAffordance and
// EventAffordance, whose JSON objects carry these members directly.
type InteractionAffordance struct {
	Type         Strings           `td:"@type"`        // semantic annotations
	Title        string            `td:"title"`        // default-language title
	Titles       map[string]string `td:"titles"`       // titles by language tag
	Description  string            `td:"description"`  // default-language description
	Descriptions map[string]string `td:"descriptions"` // descriptions by language tag
	Forms        []Form            `td:"forms"`        // how to interact, at least one
	// URIVariables describes the variables of URI templates in the
	// affordance's form hrefs.
	URIVariables map[string]*DataSchema `td:"uriVariables"`
}

// PropertyAffordance is a property of a Thing. Its value schema (the
// embedded DataSchema) shares the JSON object with the interaction members.
//
// Both embedded structs declare Title and Description; they name the same
// JSON members. Decoding sets both, encoding writes the
// InteractionAffordance field when it is non-empty and the DataSchema field
// otherwise. In Go code, write p.InteractionAffordance.Title and
// p.DataSchema.Type: the bare selectors p.Title and p.Type are ambiguous.
//
// Unknown members are kept in PropertyAffordance.Extra; the embedded
// DataSchema.Extra is left nil by decoding, and when set it is encoded
// below PropertyAffordance.Extra.
type PropertyAffordance struct {
	InteractionAffordance
	DataSchema
	// Observable tells that consumers can observe the property.
	Observable bool `td:"observable"`
	// Extra holds every member not known to PropertyAffordance,
	// InteractionAffordance or DataSchema, verbatim.
	Extra map[string]json.RawMessage
}

// ActionAffordance is an action of a Thing.
type ActionAffordance struct {
	InteractionAffordance
	Input  *DataSchema `td:"input"`  // schema of the input, nil for none
	Output *DataSchema `td:"output"` // schema of the output, nil for none
	// Safe tells that invoking the action changes no state.
	Safe bool `td:"safe"`
	// Idempotent tells that repeated invocations have the same effect.
	Idempotent bool `td:"idempotent"`
	// Synchronous is nil when the TD does not say.
	Synchronous *bool `td:"synchronous"`
	// Extra holds every other member verbatim.
	Extra map[string]json.RawMessage
}

// EventAffordance is an event of a Thing.
type EventAffordance struct {
	InteractionAffordance
	Subscription *DataSchema `td:"subscription"` // data sent to subscribe
	Data         *DataSchema `td:"data"`         // data of each notification
	DataResponse *DataSchema `td:"dataResponse"` // consumer's reply to a notification
	Cancellation *DataSchema `td:"cancellation"` // data sent to unsubscribe
	// Extra holds every other member verbatim.
	Extra map[string]json.RawMessage
}

// DataSchema describes a JSON value, with the JSON Schema subset of the TD
// vocabulary.
//
// Const, Default and the Enum elements hold decoded JSON values: nil,
// bool, string, json.Number, []any or map[string]any. A JSON null in
// "const" or "default" is indistinguishable from absence and is dropped.
type DataSchema struct {
	// Type is boolean, integer, number, string, object, array or null;
	// "" accepts any type.
	Type        string `td:"type"`
	Title       string `td:"title"`       // default-language title
	Description string `td:"description"` // default-language description
	Const       any    `td:"const"`       // the only valid value, nil if absent
	Default     any    `td:"default"`     // value assumed when none is given
	Enum        []any  `td:"enum"`        // the valid values, nil if absent
	Unit        string `td:"unit"`        // unit of a number, e.g. "celsius"
	ReadOnly    bool   `td:"readOnly"`    // the value can be read, not written
	WriteOnly   bool   `td:"writeOnly"`   // the value can be written, not read

	Format           string `td:"format"`           // string format, e.g. date-time
	Pattern          string `td:"pattern"`          // regular expression for strings
	ContentEncoding  string `td:"contentEncoding"`  // e.g. base64
	ContentMediaType string `td:"contentMediaType"` // media type of string content

	// Numeric bounds; nil when absent.
	Minimum          *float64 `td:"minimum"`
	Maximum          *float64 `td:"maximum"`
	ExclusiveMinimum *float64 `td:"exclusiveMinimum"`
	ExclusiveMaximum *float64 `td:"exclusiveMaximum"`
	MultipleOf       *float64 `td:"multipleOf"`

	// String length (in runes) and array size bounds; nil when absent.
	MinLength *int `td:"minLength"`
	MaxLength *int `td:"maxLength"`
	MinItems  *int `td:"minItems"`
	MaxItems  *int `td:"maxItems"`

	// Items is the schema of every array element ("items": {...}).
	Items *DataSchema `td:"items"`
	// ItemsTuple is the positional form ("items": [{...}, {...}]); element
	// i of the array must match ItemsTuple[i]. When both Items and
	// ItemsTuple are set, Items is encoded.
	ItemsTuple []*DataSchema          `td:"items"`
	Properties map[string]*DataSchema `td:"properties"` // schemas of object members
	Required   []string               `td:"required"`   // names of mandatory members
	OneOf      []*DataSchema          `td:"oneOf"`      // exactly one must match

	// Extra holds every other member verbatim (@type, titles, ex:foo ...).
	Extra map[string]json.RawMessage
}

// The codec marker: types whose JSON objects are decoded and encoded by the
// reflection codec of this package.
func (Thing) tdCodec()                 {}
func (SecurityScheme) tdCodec()        {}
func (Form) tdCodec()                  {}
func (InteractionAffordance) tdCodec() {}
func (PropertyAffordance) tdCodec()    {}
func (ActionAffordance) tdCodec()      {}
func (EventAffordance) tdCodec()       {}
func (DataSchema) tdCodec()            {}

// MarshalJSON encodes the Thing with sorted member names; see Marshal.
func (t Thing) MarshalJSON() ([]byte, error) { return encodeObject(reflect.ValueOf(t)) }

// UnmarshalJSON decodes a Thing, replacing the receiver's content.
func (t *Thing) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(t).Elem(), true)
}

// MarshalJSON encodes the scheme with sorted member names.
func (s SecurityScheme) MarshalJSON() ([]byte, error) { return encodeObject(reflect.ValueOf(s)) }

// UnmarshalJSON decodes a scheme, replacing the receiver's content.
func (s *SecurityScheme) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(s).Elem(), true)
}

// MarshalJSON encodes the form with sorted member names.
func (f Form) MarshalJSON() ([]byte, error) { return encodeObject(reflect.ValueOf(f)) }

// UnmarshalJSON decodes a form, replacing the receiver's content.
func (f *Form) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(f).Elem(), true)
}

// MarshalJSON encodes the shared interaction members with sorted names.
func (a InteractionAffordance) MarshalJSON() ([]byte, error) {
	return encodeObject(reflect.ValueOf(a))
}

// UnmarshalJSON decodes the shared interaction members, replacing the
// receiver's content. Other members are ignored: InteractionAffordance has
// no Extra.
func (a *InteractionAffordance) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(a).Elem(), true)
}

// MarshalJSON encodes the property with sorted member names.
func (p PropertyAffordance) MarshalJSON() ([]byte, error) { return encodeObject(reflect.ValueOf(p)) }

// UnmarshalJSON decodes a property, replacing the receiver's content.
func (p *PropertyAffordance) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(p).Elem(), true)
}

// MarshalJSON encodes the action with sorted member names.
func (a ActionAffordance) MarshalJSON() ([]byte, error) { return encodeObject(reflect.ValueOf(a)) }

// UnmarshalJSON decodes an action, replacing the receiver's content.
func (a *ActionAffordance) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(a).Elem(), true)
}

// MarshalJSON encodes the event with sorted member names.
func (e EventAffordance) MarshalJSON() ([]byte, error) { return encodeObject(reflect.ValueOf(e)) }

// UnmarshalJSON decodes an event, replacing the receiver's content.
func (e *EventAffordance) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(e).Elem(), true)
}

// MarshalJSON encodes the schema with sorted member names.
func (s DataSchema) MarshalJSON() ([]byte, error) { return encodeObject(reflect.ValueOf(s)) }

// UnmarshalJSON decodes a schema, replacing the receiver's content.
func (s *DataSchema) UnmarshalJSON(data []byte) error {
	return decodeRoot(data, reflect.ValueOf(s).Elem(), true)
}

// Parse decodes a Thing Description. It rejects input that is not a single
// JSON object, input nested deeper than MaxDepth, and members of the wrong
// JSON type; such errors wrap ErrInvalidJSON and name the offending JSON
// path. Parse does not check the TD rules: call Validate for that.
func Parse(data []byte) (*Thing, error) {
	t := new(Thing)
	if err := decodeRoot(data, reflect.ValueOf(t).Elem(), false); err != nil {
		return nil, err
	}
	return t, nil
}

// Marshal encodes a Thing Description as compact JSON. Member names are
// sorted, absent members (empty strings, false, nil pointers, nil slices and
// maps) are omitted, and HTML characters are not escaped, so the output is
// deterministic and suitable for golden files. A nil Thing encodes as null.
func Marshal(t *Thing) ([]byte, error) {
	if t == nil {
		return []byte("null"), nil
	}
	return encodeObject(reflect.ValueOf(*t))
}

// MarshalIndent is like Marshal but indents the output like json.Indent.
func MarshalIndent(t *Thing, prefix, indent string) ([]byte, error) {
	b, err := Marshal(t)
	if err != nil {
		return nil, err
	}
	return indentJSON(b, prefix, indent)
}

// Clone returns a deep copy of t. Extra members, Context entries and the
// decoded JSON values of Const, Default and Enum are copied too. Clone of a
// nil Thing is nil.
func (t *Thing) Clone() *Thing {
	if t == nil {
		return nil
	}
	c := deepCopy(reflect.ValueOf(t)).Interface().(*Thing)
	return c
}

// AffordanceNames returns the sorted names of the Thing's properties,
// actions and events.
func (t *Thing) AffordanceNames() (properties, actions, events []string) {
	return sortedKeys(t.Properties), sortedKeys(t.Actions), sortedKeys(t.Events)
}

// sortedKeys returns the keys of m in increasing order, or nil.
func sortedKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}
