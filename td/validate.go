package td

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// ValidateOptions tunes Validate.
type ValidateOptions struct {
	// FormsOptional accepts affordances without forms, as in an agent's TD
	// whose forms the hub replaces. Forms that are present are still
	// checked.
	FormsOptional bool
}

// Validate checks t against the rules of TD 1.1 that a hub relies on and
// returns nil or a *ValidationError (wrapping ErrInvalidTD) that lists every
// problem with its JSON path, in a deterministic order.
//
// It checks the required members (@context with the TD context IRI, title,
// security, securityDefinitions), the security schemes and every reference
// to them, forms (href, op values allowed for the kind of affordance,
// contentType, MQTT binding terms), data schemas everywhere (type, ranges,
// lengths, required, enum, pattern), links and schemaDefinitions, and the
// readOnly/writeOnly consistency of property forms.
func Validate(t *Thing, opts ValidateOptions) error {
	v := &validator{opts: opts, t: t}
	if t == nil {
		v.add("$", "Thing Description is missing")
	} else {
		v.thing()
	}
	if len(v.problems) == 0 {
		return nil
	}
	return &ValidationError{Problems: v.problems}
}

// validator accumulates the problems found in one Thing.
type validator struct {
	opts     ValidateOptions
	t        *Thing
	problems []Problem
}

func (v *validator) add(path, msg string) {
	v.problems = append(v.problems, Problem{Path: path, Message: msg})
}

func (v *validator) addf(path, format string, args ...any) {
	v.add(path, fmt.Sprintf(format, args...))
}

func (v *validator) thing() {
	t := v.t
	v.context()

	if strings.TrimSpace(t.Title) == "" { // [td-vocab-title--Thing]
		v.add("$.title", "required")
	}
	v.uri("$.id", t.ID)     // [td-vocab-id--Thing]
	v.uri("$.base", t.Base) // [td-vocab-base--Thing]

	// [td-vocab-security--Thing] [td-security-mandatory]
	if len(t.Security) == 0 {
		v.add("$.security", "at least one security definition name required")
	}
	v.securityNames("$.security", t.Security)

	// [td-vocab-securityDefinitions--Thing]
	if len(t.SecurityDefinitions) == 0 {
		v.add("$.securityDefinitions", "at least one security scheme required")
	}
	for _, name := range sortedKeys(t.SecurityDefinitions) {
		v.securityScheme(pathKey("$.securityDefinitions", name), name, t.SecurityDefinitions[name])
	}

	for _, name := range sortedKeys(t.Properties) {
		v.property(pathKey("$.properties", name), name, t.Properties[name])
	}
	for _, name := range sortedKeys(t.Actions) {
		v.action(pathKey("$.actions", name), name, t.Actions[name])
	}
	for _, name := range sortedKeys(t.Events) {
		v.event(pathKey("$.events", name), name, t.Events[name])
	}
	for i := range t.Forms {
		// [td-op-for-thing]
		v.form(pathIndex("$.forms", i), &t.Forms[i], IsThingOp, "the Thing", true)
	}

	v.links(t.Extra["links"])
	v.schemaDefinitions(t.Extra["schemaDefinitions"])
}

// context checks "@context". [td-context] [td-context-toplevel]
// [td-context-ns-thing-mandatory]
func (v *validator) context() {
	const p = "$['@context']"
	c := v.t.Context
	if c.IsZero() {
		v.add(p, "required")
		return
	}
	if !c.Has(ContextV11) && !c.Has(ContextV10) {
		v.addf(p, "must contain %q", ContextV11)
	}
	for i, kind := range c.entryKinds() {
		if kind != "string" && kind != "object" {
			v.addf(pathIndex(p, i), "want string or object, got %s", kind)
		}
	}
}

// uri checks an optional anyURI member.
func (v *validator) uri(path, s string) {
	if s == "" {
		return
	}
	if _, err := url.Parse(s); err != nil {
		v.addf(path, "not a valid URI: %q", truncate(s))
	}
}

// securityNames checks that every name refers to a security definition.
// [td-security-scheme-name]
func (v *validator) securityNames(path string, names Strings) {
	for _, name := range names {
		if _, ok := v.t.SecurityDefinitions[name]; !ok {
			v.addf(path, "%q is not defined in securityDefinitions", truncate(name))
		}
	}
}

// securityScheme checks one security definition.
func (v *validator) securityScheme(path, name string, s *SecurityScheme) {
	if name == "" {
		v.add(path, "name must not be empty")
	}
	if s == nil {
		v.add(path, "want object, got null")
		return
	}
	switch {
	case s.Scheme == "": // [td-vocab-scheme--SecurityScheme]
		v.add(path+".scheme", "required")
	case !knownScheme(s.Scheme) && !strings.Contains(s.Scheme, ":"):
		v.addf(path+".scheme", "unknown security scheme %q", truncate(s.Scheme))
	}
	if allowed := credentialLocations(s.Scheme); s.In != "" && allowed != nil && !slices.Contains(allowed, s.In) {
		v.addf(path+".in", "%q is not one of %s", truncate(s.In), strings.Join(allowed, ", "))
	}
	if s.Scheme == SchemeAuto && s.Name != "" {
		v.add(path+".name", "not allowed with scheme auto")
	}
	if s.Scheme == SchemeCombo {
		v.combo(path, name, s)
	}
}

// credentialLocations returns the values allowed for the "in" member of a
// security scheme, or nil if the scheme has no such member.
func credentialLocations(scheme string) []string {
	switch scheme {
	case SchemeAPIKey:
		return []string{"header", "query", "body", "cookie", "uri", "auto"}
	case SchemeBasic, SchemeDigest, SchemeBearer:
		return []string{"header", "query", "body", "cookie", "auto"}
	}
	return nil
}

// combo checks the oneOf or allOf member of a combo scheme.
// [td-security-combo-exclusive-oneof-or-alloff]
func (v *validator) combo(path, name string, s *SecurityScheme) {
	oneOf, hasOneOf := s.Extra["oneOf"]
	allOf, hasAllOf := s.Extra["allOf"]
	if hasOneOf == hasAllOf {
		v.add(path, "combo scheme needs exactly one of oneOf and allOf")
		return
	}
	member, raw := "oneOf", oneOf
	if hasAllOf {
		member, raw = "allOf", allOf
	}
	var names []string
	if err := json.Unmarshal(raw, &names); err != nil {
		v.addf(path+"."+member, "want array of strings, got %s", describeKind(raw))
		return
	}
	if len(names) < 2 {
		v.add(path+"."+member, "at least two security definition names required")
	}
	for _, n := range names {
		switch {
		case n == name:
			v.addf(path+"."+member, "%q refers to the combo scheme itself", truncate(n))
		case v.t.SecurityDefinitions[n] == nil:
			v.addf(path+"."+member, "%q is not defined in securityDefinitions", truncate(n))
		}
	}
}

// affordance checks the members shared by all affordances.
func (v *validator) affordance(path, name string, a *InteractionAffordance, allowed func(string) bool, kind string) {
	if name == "" {
		v.add(path, "name must not be empty")
	}
	// [td-vocab-forms--InteractionAffordance]
	if len(a.Forms) == 0 && !v.opts.FormsOptional {
		v.add(path+".forms", "at least one form required")
	}
	for i := range a.Forms {
		v.form(pathIndex(path+".forms", i), &a.Forms[i], allowed, kind, false)
	}
	for _, n := range sortedKeys(a.URIVariables) {
		p := pathKey(path+".uriVariables", n)
		if s := a.URIVariables[n]; s == nil {
			v.add(p, "want object, got null")
		} else {
			v.schema(p, s, 0)
		}
	}
}

// property checks one property. [td-op-for-property]
func (v *validator) property(path, name string, p *PropertyAffordance) {
	if p == nil {
		v.affordanceName(path, name)
		v.add(path, "want object, got null")
		return
	}
	v.affordance(path, name, &p.InteractionAffordance, IsPropertyOp, "a property")
	v.schema(path, &p.DataSchema, 0)
	for i, f := range p.Forms {
		// A readOnly property cannot be written and a writeOnly one
		// cannot be read.
		if p.ReadOnly && f.Op.Contains(OpWriteProperty) {
			v.addf(pathIndex(path+".forms", i)+".op", "%s is not allowed on a readOnly property", OpWriteProperty)
		}
		if p.WriteOnly && f.Op.Contains(OpReadProperty) {
			v.addf(pathIndex(path+".forms", i)+".op", "%s is not allowed on a writeOnly property", OpReadProperty)
		}
	}
}

// action checks one action. [td-op-for-action]
func (v *validator) action(path, name string, a *ActionAffordance) {
	if a == nil {
		v.affordanceName(path, name)
		v.add(path, "want object, got null")
		return
	}
	v.affordance(path, name, &a.InteractionAffordance, IsActionOp, "an action")
	v.optionalSchema(path+".input", a.Input)
	v.optionalSchema(path+".output", a.Output)
}

// event checks one event. [td-op-for-event]
func (v *validator) event(path, name string, e *EventAffordance) {
	if e == nil {
		v.affordanceName(path, name)
		v.add(path, "want object, got null")
		return
	}
	v.affordance(path, name, &e.InteractionAffordance, IsEventOp, "an event")
	v.optionalSchema(path+".subscription", e.Subscription)
	v.optionalSchema(path+".data", e.Data)
	v.optionalSchema(path+".dataResponse", e.DataResponse)
	v.optionalSchema(path+".cancellation", e.Cancellation)
}

func (v *validator) affordanceName(path, name string) {
	if name == "" {
		v.add(path, "name must not be empty")
	}
}

// form checks one form. allowed tells which op values fit where the form
// is, described by where; opRequired is set for Thing-level forms, which
// have no default op.
func (v *validator) form(path string, f *Form, allowed func(string) bool, where string, opRequired bool) {
	// [td-vocab-href--Form]
	if f.Href == "" {
		v.add(path+".href", "required")
	} else if _, err := url.Parse(f.Href); err != nil {
		v.addf(path+".href", "not a valid URI reference: %q", truncate(f.Href))
	}
	if opRequired && len(f.Op) == 0 {
		v.add(path+".op", "required")
	}
	for _, op := range f.Op {
		if !allowed(op) {
			v.addf(path+".op", "%q is not allowed on %s", truncate(op), where)
		}
	}
	if f.ContentType != "" {
		if _, _, err := mime.ParseMediaType(f.ContentType); err != nil {
			v.addf(path+".contentType", "not a valid media type: %q", truncate(f.ContentType))
		}
	}
	v.securityNames(path+".security", f.Security)
	switch f.MQTTControlPacket {
	case "", MQTTPublish, MQTTSubscribe, MQTTUnsubscribe:
	default:
		v.addf(path+"['mqv:controlPacket']", "%q is not one of publish, subscribe, unsubscribe", truncate(f.MQTTControlPacket))
	}
	switch f.MQTTQoS {
	case "", "0", "1", "2":
	default:
		v.addf(path+"['mqv:qos']", "%q is not one of \"0\", \"1\", \"2\"", truncate(f.MQTTQoS))
	}
}

// optionalSchema checks a schema member that may be absent.
func (v *validator) optionalSchema(path string, s *DataSchema) {
	if s != nil {
		v.schema(path, s, 0)
	}
}

// schema checks that a data schema is well formed, recursively.
func (v *validator) schema(path string, s *DataSchema, depth int) {
	if depth > MaxDepth {
		v.add(path, "schema nesting too deep")
		return
	}
	// [td-vocab-type--DataSchema]
	if s.Type != "" && !knownType(s.Type) {
		v.addf(path+".type", "unknown data schema type %q", truncate(s.Type))
	}
	if s.Minimum != nil && s.Maximum != nil && *s.Minimum > *s.Maximum {
		v.addf(path+".minimum", "%s is greater than maximum %s", formatFloat(*s.Minimum), formatFloat(*s.Maximum))
	}
	if s.ExclusiveMinimum != nil && s.ExclusiveMaximum != nil && *s.ExclusiveMinimum >= *s.ExclusiveMaximum {
		v.addf(path+".exclusiveMinimum", "%s is not below exclusiveMaximum %s",
			formatFloat(*s.ExclusiveMinimum), formatFloat(*s.ExclusiveMaximum))
	}
	if s.MultipleOf != nil && !(*s.MultipleOf > 0) {
		v.add(path+".multipleOf", "must be greater than 0")
	}
	v.bounds(path, "minLength", s.MinLength, "maxLength", s.MaxLength)
	v.bounds(path, "minItems", s.MinItems, "maxItems", s.MaxItems)
	if s.Enum != nil && len(s.Enum) == 0 { // [td-vocab-enum--DataSchema]
		v.add(path+".enum", "must not be empty")
	}
	if s.Pattern != "" {
		if _, err := compilePattern(s.Pattern); err != nil { // also ready for value checks
			v.addf(path+".pattern", "invalid regular expression: %v", err)
		}
	}
	if s.Type == TypeObject {
		for _, name := range s.Required {
			if _, ok := s.Properties[name]; !ok {
				v.addf(path+".required", "%q is not defined in properties", truncate(name))
			}
		}
	}
	for _, name := range sortedKeys(s.Properties) {
		v.subschema(pathKey(path+".properties", name), s.Properties[name], depth)
	}
	if s.Items != nil {
		v.schema(path+".items", s.Items, depth+1)
	}
	for i, item := range s.ItemsTuple {
		v.subschema(pathIndex(path+".items", i), item, depth)
	}
	for i, alt := range s.OneOf {
		v.subschema(pathIndex(path+".oneOf", i), alt, depth)
	}
}

// subschema checks a nested schema, which must not be null.
func (v *validator) subschema(path string, s *DataSchema, depth int) {
	if s == nil {
		v.add(path, "want object, got null")
		return
	}
	v.schema(path, s, depth+1)
}

// bounds checks a pair of non-negative integer bounds such as
// minLength/maxLength.
func (v *validator) bounds(path, minName string, min *int, maxName string, max *int) {
	if min != nil && *min < 0 {
		v.add(path+"."+minName, "must not be negative")
	}
	if max != nil && *max < 0 {
		v.add(path+"."+maxName, "must not be negative")
	}
	if min != nil && max != nil && *min > *max {
		v.addf(path+"."+minName, "%d is greater than %s %d", *min, maxName, *max)
	}
}

// links checks the Thing's "links" member: an array of link objects, each
// with an href. [td-links]
func (v *validator) links(raw json.RawMessage) {
	if raw == nil {
		return
	}
	var links []map[string]json.RawMessage
	if err := json.Unmarshal(raw, &links); err != nil {
		v.addf("$.links", "want array of objects, got %s", jsonKind(raw))
		return
	}
	for i, l := range links {
		p := pathIndex("$.links", i)
		var href string
		switch {
		case l == nil:
			v.add(p, "want object, got null")
		case l["href"] == nil:
			v.add(p+".href", "required")
		case json.Unmarshal(l["href"], &href) != nil:
			v.addf(p+".href", "want string, got %s", jsonKind(l["href"]))
		case href == "":
			v.add(p+".href", "required")
		default:
			v.uri(p+".href", href)
		}
	}
}

// schemaDefinitions checks the Thing's "schemaDefinitions" member: a map of
// data schemas.
func (v *validator) schemaDefinitions(raw json.RawMessage) {
	if raw == nil {
		return
	}
	var defs map[string]*DataSchema
	if err := decodeValue(raw, reflect.ValueOf(&defs).Elem(), "$.schemaDefinitions"); err != nil {
		if de, ok := errors.AsType[*decodeError](err); ok {
			v.add(de.path, de.msg)
		} else {
			v.add("$.schemaDefinitions", err.Error())
		}
		return
	}
	for _, name := range sortedKeys(defs) {
		v.subschema(pathKey("$.schemaDefinitions", name), defs[name], 0)
	}
}

// formatFloat formats a schema bound for a message.
func formatFloat(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
