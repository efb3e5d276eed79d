package httpapi

import (
	"encoding/json"
	"strings"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
)

// ContextDiscovery is the JSON-LD context of the WoT Discovery vocabulary
// (ThingDirectory), declared in the hub TD.
const ContextDiscovery = "https://www.w3.org/2022/wot/discovery"

// sseSecurity names the security scheme of HTTP event-stream forms: what
// the rest of HTTP accepts, plus a token as query parameter or cookie.
const sseSecurity = twin.SSESecurity

// webForms is the twin.Binding of the HTTP binding.
type webForms struct{ h *Server }

func (w webForms) Base(thingID string) string { return w.h.web.baseURL + thingPath(thingID) + "/" }
func (w webForms) PropertyForms(thingID, name string, p *td.PropertyAffordance) []td.Form {
	return w.h.httpPropertyForms(thingID, name, p)
}
func (w webForms) ActionForms(thingID, name string) []td.Form {
	return w.h.httpActionForms(thingID, name)
}
func (w webForms) EventForms(thingID, name string) []td.Form {
	return w.h.httpEventForms(thingID, name)
}
func (w webForms) ThingForms(t *td.Thing) []td.Form { return w.h.httpThingForms(t) }
func (w webForms) HubTD(t *td.Thing)                { w.h.directoryAPI(t) }

// httpForm builds one HTTP form; path is escaped (or a URI template).
// Methods are the HTTP binding's defaults unless method is set; event
// streams (subprotocol sse) send their data as JSON in unnamed events.
func (h *Server) httpForm(ops td.Strings, path, method, subprotocol string) td.Form {
	f := td.Form{Href: h.web.baseURL + path, ContentType: contentJSON, Op: ops, HTTPMethod: method, Subprotocol: subprotocol}
	if subprotocol == "sse" && !h.opts.Dev {
		f.Security = td.Strings{sseSecurity}
	}
	return f
}

// twinHTTPForm builds one HTTP form of a twin TD: its href is relative to
// the twin's base (twinBase), its contentType the default
// (application/json) and its methods the HTTP binding's defaults for its
// ops. Event streams (subprotocol sse) send their data as JSON in unnamed
// events.
func (h *Server) twinHTTPForm(ops td.Strings, rt thingRoute, subprotocol string) td.Form {
	rel := strings.TrimPrefix(rt.path(), thingPath(rt.ThingID)+"/")
	f := td.Form{Href: rel, Op: ops, Subprotocol: subprotocol}
	if subprotocol == "sse" && !h.opts.Dev {
		f.Security = td.Strings{sseSecurity}
	}
	return f
}

// httpPropertyForms are a property's HTTP forms, placed before its MQTT
// forms: read and write (GET and PUT, the binding's defaults) on
// properties/{name}, and observe as an event stream on the same URL.
func (h *Server) httpPropertyForms(thingID, name string, p *td.PropertyAffordance) []td.Form {
	if h.web.baseURL == "" {
		return nil
	}
	rt := thingRoute{Kind: routeProperty, ThingID: thingID, Name: name}
	var ops td.Strings
	if !p.WriteOnly {
		ops = append(ops, td.OpReadProperty)
	}
	if !p.ReadOnly {
		ops = append(ops, td.OpWriteProperty)
	}
	forms := []td.Form{h.twinHTTPForm(ops, rt, "")}
	if !p.WriteOnly {
		forms = append(forms, h.twinHTTPForm(td.Strings{td.OpObserveProperty, td.OpUnobserveProperty}, rt, "sse"))
	}
	return forms
}

// httpActionForms are an action's HTTP form: invoke (POST), query the
// newest request (GET) and cancel it (DELETE) on actions/{name}, the HTTP
// binding's default methods for the three ops.
func (h *Server) httpActionForms(thingID, name string) []td.Form {
	if h.web.baseURL == "" {
		return nil
	}
	rt := thingRoute{Kind: routeAction, ThingID: thingID, Name: name}
	return []td.Form{h.twinHTTPForm(td.Strings{td.OpInvokeAction, td.OpQueryAction, td.OpCancelAction}, rt, "")}
}

// httpEventForms are an event's HTTP form: an event stream on
// events/{name}.
func (h *Server) httpEventForms(thingID, name string) []td.Form {
	if h.web.baseURL == "" {
		return nil
	}
	rt := thingRoute{Kind: routeEvent, ThingID: thingID, Name: name}
	return []td.Form{h.twinHTTPForm(td.Strings{td.OpSubscribeEvent, td.OpUnsubscribeEvent}, rt, "sse")}
}

// httpThingForms are the Thing-level HTTP forms: all properties (GET and
// an event stream), all events (an event stream), all actions (GET).
func (h *Server) httpThingForms(t *td.Thing) []td.Form {
	if h.web.baseURL == "" {
		return nil
	}
	var forms []td.Form
	if len(t.Properties) > 0 {
		rt := thingRoute{Kind: routeProperties, ThingID: t.ID}
		forms = append(forms,
			h.twinHTTPForm(td.Strings{td.OpReadAllProperties}, rt, ""),
			h.twinHTTPForm(td.Strings{td.OpObserveAllProperties, td.OpUnobserveAllProperties}, rt, "sse"))
	}
	if len(t.Events) > 0 {
		forms = append(forms, h.twinHTTPForm(td.Strings{td.OpSubscribeAllEvents, td.OpUnsubscribeAllEvents}, thingRoute{Kind: routeEvents, ThingID: t.ID}, "sse"))
	}
	if len(t.Actions) > 0 {
		forms = append(forms, h.twinHTTPForm(td.Strings{td.OpQueryAllActions}, thingRoute{Kind: routeActions, ThingID: t.ID}, ""))
	}
	return forms
}

// directoryAPI adds the WoT Discovery directory API to the hub TD: the
// affordances of the Thing Description Directory Thing Model, with HTTP
// forms.
func (h *Server) directoryAPI(t *td.Thing) {
	if h.web.baseURL == "" {
		return
	}
	t.Context = td.NewContext(append(t.Context.IRIs(), ContextDiscovery)...)
	idVar := map[string]*td.DataSchema{"id": {Type: "string", Format: "iri-reference", Description: "the Thing's ID"}}
	object := func(desc string) *td.DataSchema { return twin.TDSchema(desc) }
	form := func(path, method, contentType, response string) td.Form {
		f := h.httpForm(nil, path, method, "")
		f.Op = nil
		if contentType != "" {
			f.ContentType = contentType
		}
		if response != "" {
			f.Extra = map[string]json.RawMessage{"response": mustJSON(map[string]string{"contentType": response})}
		}
		return f
	}
	action := func(desc string, vars map[string]*td.DataSchema, input, output *td.DataSchema, safe bool, f td.Form) *td.ActionAffordance {
		f.Op = td.Strings{td.OpInvokeAction}
		a := &td.ActionAffordance{Input: input, Output: output, Safe: safe, Idempotent: safe}
		a.Description, a.URIVariables, a.Forms = desc, vars, []td.Form{f}
		return a
	}
	if t.Actions == nil {
		t.Actions = map[string]*td.ActionAffordance{}
	}
	thing := thingsPath + "/{id}"
	t.Actions["createThing"] = action("Register a Thing Description with the given ID (201 Created); agent and service accounts, which then own the Thing.",
		idVar, object("a Thing Description"), nil, false, form(thing, "PUT", contentTD, ""))
	t.Actions["createAnonymousThing"] = action("Register a Thing Description without an ID; the hub names it urn:uuid:... and answers 201 with its URL in Location.",
		nil, object("a Thing Description without id"), nil, false, form(thingsPath, "POST", contentTD, ""))
	t.Actions["retrieveThing"] = action("Read a twin TD.",
		idVar, nil, object("the twin TD"), true, form(thing, "GET", "", contentTD))
	t.Actions["updateThing"] = action("Replace a registered Thing Description (204); its owner, or an admin.",
		idVar, object("a Thing Description"), nil, false, form(thing, "PUT", contentTD, ""))
	t.Actions["partiallyUpdateThing"] = action("Change a registered Thing Description with a JSON Merge Patch (RFC 7396).",
		idVar, object("a merge patch"), nil, false, form(thing, "PATCH", contentMergePatch, ""))
	t.Actions["deleteThing"] = action("Delete a Thing: its twin, history and unfinished requests; its owner, or an admin.",
		idVar, nil, nil, false, form(thing, "DELETE", "", ""))

	things := &td.PropertyAffordance{DataSchema: td.DataSchema{Type: "array", ReadOnly: true, Items: object("a twin TD")}}
	things.InteractionAffordance.Description = "The twin TDs the client may read, ordered by ID, a page at a time; the Link header (rel=next) names the next page."
	things.URIVariables = map[string]*td.DataSchema{
		"offset": {Type: "integer", Minimum: ptr(0.0), Description: "TDs to skip"},
		"limit":  {Type: "integer", Minimum: ptr(1.0), Maximum: ptr(float64(MaxPageSize)), Description: "TDs in a page"},
		"format": {Type: "string", Enum: []any{"array"}},
	}
	pf := form(thingsPath+"{?offset,limit,format}", "GET", "", contentLD)
	pf.Op = td.Strings{td.OpReadProperty}
	things.Forms = []td.Form{pf}
	if t.Properties == nil {
		t.Properties = map[string]*td.PropertyAffordance{}
	}
	t.Properties["things"] = things

	if t.Events == nil {
		t.Events = map[string]*td.EventAffordance{}
	}
	for name, kind := range map[string]string{"thingCreated": eventThingCreated, "thingUpdated": eventThingUpdated, "thingDeleted": eventThingDeleted} {
		e := &td.EventAffordance{Data: object("{\"id\": ...}; with diff=true the created TD, or the merge patch of an update")}
		e.Description = "Directory change events (" + kind + ") as Server-Sent Events named " + kind + "; Last-Event-ID resumes."
		e.URIVariables = map[string]*td.DataSchema{"diff": {Type: "boolean", Description: "include the TD or the change"}}
		f := h.httpForm(td.Strings{td.OpSubscribeEvent}, eventsPath+"/"+kind+"{?diff}", "", "sse")
		f.ContentType = "text/event-stream"
		e.Forms = []td.Form{f}
		t.Events[name] = e
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func ptr[T any](v T) *T { return &v }
