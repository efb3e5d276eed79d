package explorer

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// pageSize is how many Things the list shows at once.
const pageSize = 50

type thingRow struct {
	ID, Title, Agent, Presence string
	Types                      []string
	Updated                    time.Time
}

type thingsData struct {
	Query         string
	Rows          []thingRow
	Offset, Shown int
	Total         int // Things matching the query that the account may read
	Prev, Next    string
}

// thingsPage lists the Things the account may read (decided per Thing by
// authz.Decide, as GET /things decides), filtered by a query on title, ID,
// @type and agent, a page at a time. The directory is in memory; only the page's
// rows are looked up further (presence).
func (x *Explorer) thingsPage(w http.ResponseWriter, r *http.Request, s session) {
	if !authz.Allowed(s.id.Role, authz.OpReadTD) {
		x.problem(w, r, s, wire.Errorf(wire.CodeDenied, "role %s may not %s", s.id.Role, authz.OpReadTD))
		return
	}
	q := strings.TrimSpace(r.URL.Query().Get("q"))
	offset, _ := strconv.Atoi(r.URL.Query().Get("offset"))
	offset = max(offset, 0)
	needle := strings.ToLower(q)
	d := thingsData{Query: q, Offset: offset}
	for _, e := range x.opts.Directory.List() {
		if needle != "" && !matches(e.ThingID, e.TD, needle) && !strings.Contains(strings.ToLower(e.AgentID), needle) {
			continue
		}
		if x.opts.Authz.Decide(s.id, authz.OpReadTD, e.ThingID) != nil {
			continue
		}
		d.Total++
		if d.Total <= offset || len(d.Rows) == pageSize {
			continue
		}
		row := thingRow{ID: e.ThingID, Title: e.TD.Title, Agent: e.AgentID, Types: e.TD.Type, Updated: e.Updated, Presence: "—"}
		if p, err := x.opts.Presence.Get(r.Context(), e.ThingID); err == nil && p.State != "" {
			row.Presence = string(p.State)
			if p.Since.After(row.Updated) {
				row.Updated = p.Since
			}
		}
		d.Rows = append(d.Rows, row)
	}
	d.Shown = len(d.Rows)
	link := func(off int) string {
		v := url.Values{}
		if q != "" {
			v.Set("q", q)
		}
		if off > 0 {
			v.Set("offset", strconv.Itoa(off))
		}
		if len(v) == 0 {
			return Prefix + "things"
		}
		return Prefix + "things?" + v.Encode()
	}
	if offset > 0 {
		d.Prev = link(max(offset-pageSize, 0))
	}
	if offset+pageSize < d.Total {
		d.Next = link(offset + pageSize)
	}
	fragment := ""
	if r.URL.Query().Get("fragment") == "rows" {
		fragment = "rows"
		w.Header().Set("X-Things-Total", strconv.Itoa(d.Total))
	}
	x.render(w, r, s, http.StatusOK, "things", "Things", "things", d, fragment)
}

// matches reports whether a Thing's ID, title or a @type contains the
// (lower-case) needle.
func matches(id string, t *td.Thing, needle string) bool {
	if strings.Contains(strings.ToLower(id), needle) || strings.Contains(strings.ToLower(t.Title), needle) {
		return true
	}
	for _, ty := range t.Type {
		if strings.Contains(strings.ToLower(ty), needle) {
			return true
		}
	}
	return false
}

type propView struct {
	Name, Title, Description, Unit  string
	Type                            string
	Value                           string // JSON, "" when none yet
	Numeric                         bool
	ReadOnly, WriteOnly, Observable bool
	Control                         *field // nil: no write control (read-only, or not allowed)
}

type actionView struct {
	Name, Title, Description string
	Safe                     bool
	Input                    *field // nil: no input
	Output                   string
	CanInvoke                bool
	Outcomes                 []wire.ActionStatus
}

type eventView struct {
	Name, Title, Description, Type string
	Hub                            bool // an event the hub adds (presence)
	Numeric                        bool
	Recent                         []outbox.Record // newest first
}

// recentEvents is how many stored events of each a Thing page shows
// before live ones arrive.
const recentEvents = 10

type formRow struct {
	Affordance, Ops, Protocol, Target string
}

type thingData struct {
	ID, Title, Description, Agent string
	Types                         []string
	Presence                      string
	PresenceSince                 time.Time
	Properties                    []propView
	Actions                       []actionView
	Events                        []eventView
	Forms                         []formRow
	RawTD                         string
	CanHistory                    bool
	APIBase                       string // the binding's URL of the Thing, for the page's script
	Now                           string
}

// thingPage shows one twin, read through the binding as the account: its
// TD, the current values and the recent outcomes of its actions. Write
// and invoke controls appear where authz.Decide allows the operation
// (the binding decides every request again).
func (x *Explorer) thingPage(w http.ResponseWriter, r *http.Request, s session, escapedID string) {
	id, err := url.PathUnescape(escapedID)
	if err != nil {
		x.notFound(w, r, s)
		return
	}
	base := "/things/" + pathEscape(id)
	a := x.call(r.Context(), r, s, http.MethodGet, base, nil, "")
	if !a.ok() {
		x.problem(w, r, s, problemOf(a))
		return
	}
	t, err := td.Parse(a.body)
	if err != nil {
		x.problem(w, r, s, wire.Errorf(wire.CodeInternal, "the twin TD: %v", err))
		return
	}
	d := thingData{ID: id, Title: t.Title, Description: t.Description, Types: t.Type, APIBase: base,
		CanHistory: s.may(x, authz.OpReadHistory, id), Now: x.opts.Now().UTC().Format("2006-01-02T15:04:05")}
	var pretty bytes.Buffer
	if json.Indent(&pretty, a.body, "", "  ") == nil {
		d.RawTD = pretty.String()
	}
	if e, ok := x.opts.Directory.Get(id); ok {
		d.Agent = e.AgentID
	}
	if p, err := x.opts.Presence.Get(r.Context(), id); err == nil {
		d.Presence, d.PresenceSince = string(p.State), p.Since
	}
	values := map[string]json.RawMessage{}
	if s.may(x, authz.OpReadProperty, id) {
		if v := x.call(r.Context(), r, s, http.MethodGet, base+"/properties", nil, ""); v.ok() {
			json.Unmarshal(v.body, &values)
		}
	}
	canWrite := s.may(x, authz.OpWriteProperty, id)
	for _, name := range sortedKeys(t.Properties) {
		p := t.Properties[name]
		v := propView{Name: name, Title: p.InteractionAffordance.Title, Description: p.InteractionAffordance.Description, Unit: p.Unit, Type: p.DataSchema.Type,
			Numeric:  p.DataSchema.Type == "number" || p.DataSchema.Type == "integer",
			ReadOnly: p.ReadOnly, WriteOnly: p.WriteOnly, Observable: p.Observable}
		if raw, ok := values[name]; ok {
			v.Value = string(raw)
		}
		if canWrite && !p.ReadOnly {
			v.Control = fieldOf("value", name, &p.DataSchema, 0)
			v.Control.QuietLabel = true
		}
		d.Properties = append(d.Properties, v)
	}
	canInvoke := s.may(x, authz.OpInvokeAction, id)
	canQuery := s.may(x, authz.OpQueryAction, id)
	for _, name := range sortedKeys(t.Actions) {
		act := t.Actions[name]
		v := actionView{Name: name, Title: act.Title, Description: act.Description, Safe: act.Safe, CanInvoke: canInvoke}
		if act.Input != nil && canInvoke {
			v.Input = fieldOf("action-"+name, "input", act.Input, 0)
		}
		if act.Output != nil {
			v.Output = act.Output.Type
		}
		if canQuery {
			if h := x.call(r.Context(), r, s, http.MethodGet, base+"/actions/"+pathEscape(name)+"/history", nil, ""); h.ok() {
				var out struct {
					Items []wire.ActionStatus `json:"items"`
				}
				json.Unmarshal(h.body, &out)
				v.Outcomes = out.Items[:min(len(out.Items), 10)]
			}
		}
		d.Actions = append(d.Actions, v)
	}
	for _, name := range sortedKeys(t.Events) {
		e := t.Events[name]
		v := eventView{Name: name, Title: e.Title, Description: e.Description}
		if e.Data != nil {
			v.Type = e.Data.Type
			v.Numeric = e.Data.Type == "number" || e.Data.Type == "integer"
		}
		_, v.Hub = e.Extra["wotmq:hub"]
		if d.CanHistory {
			v.Recent, _ = x.opts.Outbox.Recent(r.Context(), id, outbox.Filter{Kind: wire.KindEvent, Name: name}, recentEvents)
		}
		d.Events = append(d.Events, v)
	}
	d.Forms = formsOf(t)
	x.render(w, r, s, http.StatusOK, "thing", t.Title, "things", d, "")
}

// formsOf explains the twin TD's forms: which URL or topic does what.
func formsOf(t *td.Thing) []formRow {
	var out []formRow
	add := func(aff string, forms []td.Form) {
		for _, f := range forms {
			row := formRow{Affordance: aff, Ops: strings.Join(f.Op, ", "), Target: t.Href(f)}
			switch {
			case f.Subprotocol == "sse":
				row.Protocol = "HTTP, Server-Sent Events (GET)"
			case strings.HasPrefix(row.Target, "mqtt"):
				row.Protocol = "MQTT " + f.MQTTControlPacket
				if f.MQTTTopic != "" {
					row.Target = f.MQTTTopic
				} else if f.MQTTFilter != "" {
					row.Target = f.MQTTFilter
				}
			default:
				row.Protocol = "HTTP " + httpMethods(f.Op)
			}
			out = append(out, row)
		}
	}
	add("Thing", t.Forms)
	for _, n := range sortedKeys(t.Properties) {
		add("property "+n, t.Properties[n].Forms)
	}
	for _, n := range sortedKeys(t.Actions) {
		add("action "+n, t.Actions[n].Forms)
	}
	for _, n := range sortedKeys(t.Events) {
		add("event "+n, t.Events[n].Forms)
	}
	return out
}

// httpMethods names the HTTP binding's default methods of operations.
func httpMethods(ops []string) string {
	var m []string
	for _, op := range ops {
		var x string
		switch op {
		case "readproperty", "readallproperties", "readmultipleproperties", "queryaction", "queryallactions":
			x = "GET"
		case "writeproperty", "writeallproperties":
			x = "PUT"
		case "invokeaction":
			x = "POST"
		case "cancelaction":
			x = "DELETE"
		}
		if x != "" && !slices.Contains(m, x) {
			m = append(m, x)
		}
	}
	return strings.Join(m, ", ")
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
