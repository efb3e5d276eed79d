package twin

import (
	"encoding/json"
	"fmt"
	"net/url"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// MQTTBindingIRI is the namespace of the W3C MQTT binding vocabulary
// ("mqv"), declared in every twin TD's @context.
const MQTTBindingIRI = td.MQTTNamespace

// HubThingID is the ID of the hub's own Thing Description.
const HubThingID = "urn:wotmq:hub"

// Names the hub's security schemes use: HTTP event streams (forms with
// security SSESecurity) also take a token from the TokenQuery parameter or
// the TokenCookie cookie, which a browser's EventSource can send.
const (
	SSESecurity = "sse_sc"
	TokenQuery  = "access_token"
	TokenCookie = "wotmq_token"
)

const (
	nosecName     = "nosec_sc"
	contentJSON   = "application/json"
	packetPublish = "publish"
	packetSub     = "subscribe"
	packetUnsub   = "unsubscribe"
)

var retainFalse, retainTrue = false, true

// mqttForm builds one MQTT form: the topic (or filter) sits in the href
// path and is repeated in mqv:topic or mqv:filter.
func (c *Core) mqttForm(ops td.Strings, packet, topic string, retain *bool) td.Form {
	f := td.Form{
		Href:              c.mqttHref(topic),
		ContentType:       contentJSON,
		Op:                ops,
		MQTTControlPacket: packet,
		MQTTQoS:           "1",
		MQTTRetain:        retain,
	}
	if packet == packetPublish {
		f.MQTTTopic = topic
	} else {
		f.MQTTFilter = topic
	}
	return f
}

// ExtensionsIRI is the namespace of wotmq's TD extension members
// ("wotmq:"), declared in twin TDs' @context.
const ExtensionsIRI = "https://github.com/wotmq/wotmq/blob/main/docs/topics.md#td-extensions"

// ChannelMember is the Thing-level member of a twin TD that advertises
// real-time channels and says where to signal them.
const ChannelMember = "wotmq:channel"

// hubMember marks affordances the hub adds to a twin TD.
const hubMember = "wotmq:hub"

// presenceEvent describes the Thing's presence, which the hub publishes
// retained on things/{id}/presence.
func presenceEvent() *td.EventAffordance {
	e := &td.EventAffordance{
		Data: &td.DataSchema{Type: "object", Properties: map[string]*td.DataSchema{
			"state": {Type: "string", Enum: []any{"online", "offline", "lost", "sleeping"}},
			"since": {Type: "string", Format: "date-time"},
			"seq":   {Type: "integer", Minimum: ptr(1.0)},
		}, Required: []string{"state", "since", "seq"}},
		Extra: map[string]json.RawMessage{hubMember: json.RawMessage("true")},
	}
	e.Title = "Presence"
	e.Description = "Whether the Thing is reachable: online, offline, lost (its agent's connection broke) or sleeping. The hub adds this event to every twin; the current state is also retained on things/{id}/presence."
	return e
}

func ptr[T any](v T) *T { return &v }

// TwinTD derives the twin TD from an agent's TD: the hub's security and
// forms replace the agent's, everything else is kept. It returns the JSON
// the hub publishes.
//
// The forms are kept compact, because an agent's TD of many small
// affordances would otherwise grow a hundredfold (docs/topics.md, "Twin TD
// forms"): HTTP hrefs are relative to the twin's base
// (/things/{id}/), contentType is left to its default
// (application/json), each HTTP form covers every operation of its URL
// but the event streams, and there is one MQTT form per topic. MQTT hrefs
// stay absolute, with the topic as their path (node-wot reads it there),
// and repeat it in mqv:topic or mqv:filter (the binding's terms).
func (c *Core) TwinTD(agentTD *td.Thing) ([]byte, error) {
	t := agentTD.Clone()
	id := t.ID
	t.Context.SetPrefix("mqv", MQTTBindingIRI)
	t.Base = c.twinBase(id)
	t.SecurityDefinitions, t.Security = c.security()

	for name, p := range t.Properties {
		var forms []td.Form
		if !p.WriteOnly {
			forms = append(forms, c.twinMQTTForm(td.Strings{td.OpReadProperty, td.OpObserveProperty, td.OpUnobserveProperty}, "", wire.PropertyTopic(id, name)))
			p.Observable = true
		}
		if !p.ReadOnly {
			forms = append(forms, c.twinMQTTForm(td.Strings{td.OpWriteProperty}, packetPublish,
				wire.Topic{Kind: wire.TopicPropertySet, ThingID: id, Name: name}.String()))
		}
		p.Forms = append(c.httpForms().PropertyForms(id, name, p), forms...)
	}
	for name, a := range t.Actions {
		a.Forms = append(c.httpForms().ActionForms(id, name),
			c.twinMQTTForm(td.Strings{td.OpInvokeAction}, packetPublish, wire.ActionTopic(id, name)),
			c.twinMQTTForm(td.Strings{td.OpQueryAction}, packetSub, wire.ActionStatusTopic(id, name)),
			c.twinMQTTForm(td.Strings{td.OpCancelAction}, packetPublish, wire.Topic{Kind: wire.TopicActionCancel, ThingID: id, Name: name}.String()),
		)
	}
	if _, taken := t.Events[PresenceEvent]; !taken {
		if t.Events == nil {
			t.Events = map[string]*td.EventAffordance{}
		}
		t.Events[PresenceEvent] = presenceEvent()
	}
	for name, e := range t.Events {
		e.Forms = append(c.httpForms().EventForms(id, name),
			c.twinMQTTForm(td.Strings{td.OpSubscribeEvent, td.OpUnsubscribeEvent}, "", wire.EventTopic(id, name)))
	}
	t.Forms = c.httpForms().ThingForms(t) // HTTP first, then MQTT (docs/http.md, "Forms")
	if len(t.Properties) > 0 {
		t.Forms = append(t.Forms, c.twinMQTTForm(td.Strings{td.OpReadAllProperties, td.OpObserveAllProperties, td.OpUnobserveAllProperties}, "", wire.AllPropertiesFilter(id)))
	}
	if len(t.Events) > 0 {
		t.Forms = append(t.Forms, c.twinMQTTForm(td.Strings{td.OpSubscribeAllEvents, td.OpUnsubscribeAllEvents}, "", wire.AllEventsFilter(id)))
	}
	if len(t.Actions) > 0 {
		t.Forms = append(t.Forms, c.twinMQTTForm(td.Strings{td.OpQueryAllActions}, packetSub, wire.AllActionStatusFilter(id)))
	}
	// Real-time channels: the topic where a consumer signals the Thing's
	// agent (docs/channels.md).
	chTopic := wire.Topic{Kind: wire.TopicChannel, ThingID: id}.String()
	ch, _ := json.Marshal(map[string]string{
		"href": c.mqttHref(chTopic), "mqv:topic": chTopic,
		"protocol": "webrtc-datachannel", "description": "WebRTC DataChannels to this Thing, signalled through the hub (offer, answer, ICE candidates); operator role and up",
	})
	if t.Extra == nil {
		t.Extra = map[string]json.RawMessage{}
	}
	t.Extra[ChannelMember] = ch
	t.Context.SetPrefix("wotmq", ExtensionsIRI)
	if err := td.Validate(t, td.ValidateOptions{}); err != nil {
		return nil, fmt.Errorf("twin: generated twin TD of %s is invalid: %w", id, err)
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, fmt.Errorf("twin: encode twin TD of %s: %w", id, err)
	}
	return b, nil
}

// twinBase is the base of a twin TD: the Thing's URL with a trailing
// slash, which its HTTP hrefs are relative to; "" without HTTP.
func (c *Core) twinBase(thingID string) string { return c.httpForms().Base(thingID) }

// httpForms is the HTTP binding's forms, or none.
func (c *Core) httpForms() Binding {
	if c.forms.HTTP == nil {
		return noForms{}
	}
	return c.forms.HTTP
}

// noForms is the Binding of a hub without HTTP.
type noForms struct{}

func (noForms) Base(string) string                                             { return "" }
func (noForms) PropertyForms(string, string, *td.PropertyAffordance) []td.Form { return nil }
func (noForms) ActionForms(string, string) []td.Form                           { return nil }
func (noForms) EventForms(string, string) []td.Form                            { return nil }
func (noForms) ThingForms(*td.Thing) []td.Form                                 { return nil }
func (noForms) HubTD(*td.Thing)                                                {}

// mqttHref is the absolute href of an MQTT form: the hub's MQTT URL with
// the topic (or filter) as its path.
func (c *Core) mqttHref(topic string) string {
	return c.forms.MQTT + (&url.URL{Path: "/" + topic}).EscapedPath()
}

// twinMQTTForm builds one MQTT form of a twin TD for every op on one
// topic. packet is left empty where the ops need both SUBSCRIBE and
// UNSUBSCRIBE (observe and unobserve): the MQTT binding's default mapping
// then applies (subscribe for read, observe and subscribe ops, unsubscribe
// for unobserve and unsubscribe ops). Publish forms name mqv:topic, the
// others mqv:filter; mqv:retain is left to its default, false.
func (c *Core) twinMQTTForm(ops td.Strings, packet, topic string) td.Form {
	f := td.Form{Href: c.mqttHref(topic), Op: ops, MQTTControlPacket: packet, MQTTQoS: "1"}
	if packet == packetPublish {
		f.MQTTTopic = topic
	} else {
		f.MQTTFilter = topic
	}
	return f
}

// HubTD describes the hub as a Thing whose actions are the agent
// operations, so an agent developer finds its topics from a TD.
func (c *Core) HubTD() ([]byte, error) {
	str := &td.DataSchema{Type: "string"}
	agentVars := map[string]*td.DataSchema{"agentID": str, "thingID": str}
	nameVars := map[string]*td.DataSchema{"agentID": str, "thingID": str, "name": str}
	tmpl := func(kind wire.TopicKind) string {
		return wire.Topic{Kind: kind, AgentID: "{agentID}", ThingID: "{thingID}", Name: "{name}"}.String()
	}
	form := func(ops td.Strings, packet, topic string) td.Form {
		f := c.mqttForm(ops, packet, topic, &retainFalse)
		f.Href = c.forms.MQTT + "/" + topic // keep the URI template braces
		if packet != packetPublish {
			f.MQTTRetain = nil
		}
		return f
	}
	action := func(title, desc string, vars map[string]*td.DataSchema, input *td.DataSchema, kind wire.TopicKind) *td.ActionAffordance {
		a := &td.ActionAffordance{Input: input}
		a.Title, a.Description, a.URIVariables = title, desc, vars
		a.Forms = []td.Form{form(td.Strings{td.OpInvokeAction}, packetPublish, tmpl(kind))}
		return a
	}
	t := &td.Thing{
		Context:     td.NewContext(td.ContextV11),
		ID:          HubThingID,
		Type:        td.Strings{"ThingDirectory"},
		Title:       "wotmq hub",
		Description: "The wotmq hub: a directory of digital twins and the operations agents use to expose Things. Twin TDs are retained on things/{thingID}/td.",

		Actions: map[string]*td.ActionAffordance{
			wire.OpAgentUpdateTD: action("Update a Thing Description",
				"Register or replace the TD of a Thing the agent exposes; an empty payload deletes the Thing. The agentID is the agent's username (else its client ID).",
				agentVars, TDSchema("the Thing's TD"), wire.TopicAgentTD),
			wire.OpAgentPublishEvent: action("Publish an event",
				"Publish an event of a Thing; the payload is the event data as its TD describes.",
				nameVars, nil, wire.TopicAgentEvent),
			wire.OpAgentUpdateProperty: action("Report a property value",
				"Report the current value of a property; the hub stores it and publishes it retained.",
				nameVars, nil, wire.TopicAgentProperty),
			wire.OpAgentSetPresence: action("Set a Thing's presence",
				"For an agent fronting devices: report one Thing's presence as a JSON string, \"online\", \"offline\", \"lost\" or \"sleeping\".",
				agentVars, &td.DataSchema{Type: "string", Enum: []any{"online", "offline", "lost", "sleeping"}}, wire.TopicAgentPresence),
			wire.OpAgentReply: action("Answer a request",
				"Report progress (user property status=running) or the outcome (completed, failed) of a request, with the request's CorrelationData, on the ResponseTopic the request carried.",
				map[string]*td.DataSchema{"agentID": str}, nil, wire.TopicAgentReplies),
		},
		Events: map[string]*td.EventAffordance{
			wire.OpAgentReceive: func() *td.EventAffordance {
				e := &td.EventAffordance{}
				e.Title = "Requests for the agent"
				e.Description = "Action invocations, property writes and cancellations for the agent's Things, with user properties op (invokeaction, writeproperty, cancelaction), thing, name, action-id, sender, and a ResponseTopic and CorrelationData for the reply."
				e.URIVariables = map[string]*td.DataSchema{"agentID": str}
				e.Forms = []td.Form{form(td.Strings{td.OpSubscribeEvent}, packetSub, tmpl(wire.TopicAgentRequests))}
				return e
			}(),
		},
	}
	c.httpForms().HubTD(t)
	t.SecurityDefinitions, t.Security = c.security()
	t.Context.SetPrefix("mqv", MQTTBindingIRI)
	return json.Marshal(t)
}

// security describes what the hub accepts: in development mode nothing
// (nosec); otherwise an account's user name and password, or a token as
// the password (MQTT) or bearer token (HTTP). HTTP event streams (forms
// with security sseSecurity) also take the token from a query parameter
// or a cookie, which a browser's EventSource can send.
func (c *Core) security() (map[string]*td.SecurityScheme, td.Strings) {
	if c.opts.Dev {
		return map[string]*td.SecurityScheme{nosecName: {Scheme: "nosec",
			Description: "development mode: no credentials from loopback addresses"}}, td.Strings{nosecName}
	}
	return map[string]*td.SecurityScheme{
		"basic_sc": {Scheme: "basic", In: "header",
			Description: "MQTT: the account ID as user name and its password. HTTP: Basic authentication."},
		"bearer_sc": {Scheme: "bearer", In: "header", Extra: map[string]json.RawMessage{
			"format": json.RawMessage(`"jwt"`), "alg": json.RawMessage(`"HS256"`)},
			Description: "A token from wotmq token: the MQTT password (user name empty or the account ID), or an HTTP bearer token."},
		"combo_sc": {Scheme: "combo", Extra: map[string]json.RawMessage{"oneOf": json.RawMessage(`["basic_sc","bearer_sc"]`)}},
		"bearer_query_sc": {Scheme: "bearer", In: "query", Name: TokenQuery, Extra: map[string]json.RawMessage{
			"format": json.RawMessage(`"jwt"`), "alg": json.RawMessage(`"HS256"`)},
			Description: "HTTP event streams only: a token from wotmq token as the " + TokenQuery + " query parameter."},
		"bearer_cookie_sc": {Scheme: "bearer", In: "cookie", Name: TokenCookie, Extra: map[string]json.RawMessage{
			"format": json.RawMessage(`"jwt"`), "alg": json.RawMessage(`"HS256"`)},
			Description: "HTTP event streams only: a token from wotmq token in the " + TokenCookie + " cookie."},
		SSESecurity: {Scheme: "combo", Extra: map[string]json.RawMessage{"oneOf": json.RawMessage(`["basic_sc","bearer_sc","bearer_query_sc","bearer_cookie_sc"]`)}},
	}, td.Strings{"combo_sc"}
}

// TDSchema describes a Thing Description (or a part of one) as a data
// schema: an object with its main members.
func TDSchema(desc string) *td.DataSchema {
	str := func(d string) *td.DataSchema { return &td.DataSchema{Type: "string", Description: d} }
	return &td.DataSchema{Type: "object", Description: desc, Properties: map[string]*td.DataSchema{
		"@context": {Description: "the TD context: https://www.w3.org/2022/wot/td/v1.1 (and more)"},
		"id":       str("the Thing's ID"),
		"title":    str("the Thing's title"),
	}}
}
