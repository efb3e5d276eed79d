package wot

import "github.com/wotmq/wotmq/td"

// ThingBuilder builds a small Thing Description in Go:
//
//	lamp := wot.NewThing("urn:dev:ops:lamp-1", "Lamp").
//		Property("brightness", td.DataSchema{Type: td.TypeInteger}).
//		Event("overheating", &td.DataSchema{Type: td.TypeNumber}).
//		Action("fade", &td.DataSchema{Type: td.TypeInteger}, nil).
//		TD()
//
// It fills in what every TD needs (@context, nosec security). For anything
// it does not cover, change the *td.Thing that TD returns, or start from
// td.Parse.
type ThingBuilder struct {
	t *td.Thing
}

// NewThing starts a TD with an ID and a title.
func NewThing(id, title string) *ThingBuilder {
	return &ThingBuilder{t: &td.Thing{
		Context:             td.NewContext(td.ContextV11),
		ID:                  id,
		Title:               title,
		Security:            td.Strings{"nosec_sc"},
		SecurityDefinitions: map[string]*td.SecurityScheme{"nosec_sc": {Scheme: td.SchemeNoSec}},
	}}
}

// Description sets the Thing's description.
func (b *ThingBuilder) Description(s string) *ThingBuilder {
	b.t.Description = s
	return b
}

// Property adds a property whose value the schema describes; set
// schema.ReadOnly for a property consumers cannot write.
func (b *ThingBuilder) Property(name string, schema td.DataSchema) *ThingBuilder {
	if b.t.Properties == nil {
		b.t.Properties = make(map[string]*td.PropertyAffordance)
	}
	p := &td.PropertyAffordance{DataSchema: schema, Observable: true}
	b.t.Properties[name] = p
	return b
}

// Event adds an event; data describes its payload (nil for none).
func (b *ThingBuilder) Event(name string, data *td.DataSchema) *ThingBuilder {
	if b.t.Events == nil {
		b.t.Events = make(map[string]*td.EventAffordance)
	}
	b.t.Events[name] = &td.EventAffordance{Data: data}
	return b
}

// Action adds an action with input and output schemas (nil for none).
func (b *ThingBuilder) Action(name string, input, output *td.DataSchema) *ThingBuilder {
	return b.ActionAffordance(name, &td.ActionAffordance{Input: input, Output: output})
}

// SafeAction adds an action that changes no state ("safe": true): the hub
// forwards it at once instead of queueing it, and may run several at a
// time.
func (b *ThingBuilder) SafeAction(name string, input, output *td.DataSchema) *ThingBuilder {
	return b.ActionAffordance(name, &td.ActionAffordance{Input: input, Output: output, Safe: true})
}

// ActionAffordance adds an action described in full.
func (b *ThingBuilder) ActionAffordance(name string, a *td.ActionAffordance) *ThingBuilder {
	if b.t.Actions == nil {
		b.t.Actions = make(map[string]*td.ActionAffordance)
	}
	b.t.Actions[name] = a
	return b
}

// TD returns a copy of the Thing Description built so far.
func (b *ThingBuilder) TD() *td.Thing { return b.t.Clone() }
