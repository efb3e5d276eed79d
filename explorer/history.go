package explorer

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wire"
)

// maxChartPoints bounds the history one chart reads (pages of 1000 from
// the binding); a longer range shows its first maxChartPoints values and
// says so.
const maxChartPoints = 5000

// ranges are the time ranges a chart offers besides from/to.
var ranges = []string{"15m", "1h", "6h", "24h", "168h"}

type series struct{ Kind, Name string }

type historyData struct {
	ID, Title  string
	Kind, Name string
	Series     []series
	Range      string
	Ranges     []string
	From, To   string // datetime-local values, UTC
	Chart      *chart
	Items      []wire.HistoryItem // newest first, at most 100
	Count      int
	Truncated  bool
	Error      string
}

// historyPage charts one numeric property or event of a Thing over a time
// range, read through the binding's history API as the account.
func (x *Explorer) historyPage(w http.ResponseWriter, r *http.Request, s session, escapedID string) {
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
	q := r.URL.Query()
	d := historyData{ID: id, Title: t.Title, Kind: q.Get("kind"), Name: q.Get("name"), Range: q.Get("range"), Ranges: ranges}
	if kind, name, ok := strings.Cut(q.Get("series"), ":"); ok {
		d.Kind, d.Name = kind, name
	}
	for _, n := range sortedKeys(t.Properties) {
		if p := t.Properties[n]; chartable(&p.DataSchema) {
			d.Series = append(d.Series, series{"property", n})
		}
	}
	for _, n := range sortedKeys(t.Events) {
		if e := t.Events[n]; e.Data != nil && chartable(e.Data) {
			d.Series = append(d.Series, series{"event", n})
		}
	}
	if d.Name == "" && len(d.Series) > 0 {
		d.Kind, d.Name = d.Series[0].Kind, d.Series[0].Name
	}
	if d.Kind != "event" {
		d.Kind = "property"
	}
	now := x.opts.Now().UTC()
	to, from := now, time.Time{}
	if v := q.Get("to"); v != "" && d.Range == "" {
		if to, err = parseInstant(v); err != nil {
			d.Error = err.Error()
			to = now
		}
	}
	if v := q.Get("from"); v != "" && d.Range == "" {
		if from, err = parseInstant(v); err != nil {
			d.Error = err.Error()
		}
	}
	if from.IsZero() {
		if d.Range == "" {
			d.Range = "1h"
		}
		span, err := time.ParseDuration(d.Range)
		if err != nil || span <= 0 {
			span, d.Range = time.Hour, "1h"
		}
		from = to.Add(-span)
	}
	d.From, d.To = from.Format("2006-01-02T15:04:05"), to.Format("2006-01-02T15:04:05")
	if d.Name == "" {
		x.render(w, r, s, http.StatusOK, "history", "History of "+t.Title, "things", d, "")
		return
	}
	path := base + "/properties/" + pathEscape(d.Name) + "/history"
	if d.Kind == "event" {
		path = base + "/events/" + pathEscape(d.Name)
	}
	var items []wire.HistoryItem
	cursor := ""
	for len(items) < maxChartPoints {
		v := url.Values{"from": {from.Format(time.RFC3339Nano)}, "to": {to.Format(time.RFC3339Nano)}, "limit": {"1000"}}
		if cursor != "" {
			v.Set("cursor", cursor)
		}
		h := x.call(r.Context(), r, s, http.MethodGet, path+"?"+v.Encode(), nil, "")
		if !h.ok() {
			x.problem(w, r, s, problemOf(h))
			return
		}
		var page wire.HistoryPage
		if err := json.Unmarshal(h.body, &page); err != nil {
			x.problem(w, r, s, wire.Errorf(wire.CodeInternal, "history page: %v", err))
			return
		}
		items = append(items, page.Items...)
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	d.Truncated = cursor != ""
	d.Count = len(items)
	d.Chart = drawChart(items, from, to)
	for i := len(items) - 1; i >= 0 && len(d.Items) < 100; i-- {
		d.Items = append(d.Items, items[i])
	}
	x.render(w, r, s, http.StatusOK, "history", "History of "+t.Title, "things", d, "")
}

// chartable reports whether values of a schema can be drawn as a line.
func chartable(s *td.DataSchema) bool {
	return s.Type == "number" || s.Type == "integer" || s.Type == "boolean"
}

// parseInstant reads an instant as RFC 3339, or as a datetime-local value
// (no zone: UTC), with or without seconds.
func parseInstant(v string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, wire.Errorf(wire.CodeInvalidPayload, "instant %q: want RFC 3339, e.g. 2026-12-07T10:00:00Z", v)
}

type atRow struct {
	Name, Then, Now string
	Stamped         time.Time
	Sender          string
}

type atData struct {
	ID, Title, At string
	Rows          []atRow
	Error         string
}

// timeTravelPage shows the twin's property values as they were at an
// instant, from the stored history (outbox.PropertiesAt), beside the
// current ones. Reading it is readhistory, as the history API.
func (x *Explorer) timeTravelPage(w http.ResponseWriter, r *http.Request, s session, escapedID string) {
	id, err := url.PathUnescape(escapedID)
	if err != nil {
		x.notFound(w, r, s)
		return
	}
	e, ok := x.opts.Directory.Get(id)
	if !ok || x.opts.Authz.Decide(s.id, authz.OpReadTD, id) != nil {
		x.problem(w, r, s, wire.Errorf(wire.CodeUnknownThing, "no Thing %q", id))
		return
	}
	if err := x.opts.Authz.Decide(s.id, authz.OpReadHistory, id); err != nil {
		x.problem(w, r, s, err)
		return
	}
	d := atData{ID: id, Title: e.TD.Title}
	at := x.opts.Now().UTC()
	if v := strings.TrimSpace(r.URL.Query().Get("t")); v != "" {
		if at, err = parseInstant(v); err != nil {
			d.Error = err.Error()
			at = x.opts.Now().UTC()
		}
	}
	d.At = at.Format("2006-01-02T15:04:05.000")
	names := sortedKeys(e.TD.Properties)
	then, err := x.opts.Outbox.PropertiesAt(r.Context(), id, at, names)
	if err != nil {
		x.problem(w, r, s, err)
		return
	}
	byName := map[string]int{}
	for _, n := range names {
		byName[n] = len(d.Rows)
		d.Rows = append(d.Rows, atRow{Name: n, Then: "—", Now: "—"})
	}
	for _, rec := range then {
		row := &d.Rows[byName[rec.Name]]
		row.Then, row.Stamped, row.Sender = string(rec.Value), rec.Time, rec.Sender
	}
	if s.may(x, authz.OpReadProperty, id) {
		if v := x.call(r.Context(), r, s, http.MethodGet, "/things/"+pathEscape(id)+"/properties", nil, ""); v.ok() {
			var cur map[string]json.RawMessage
			json.Unmarshal(v.body, &cur)
			for n, raw := range cur {
				if i, ok := byName[n]; ok {
					d.Rows[i].Now = string(raw)
				}
			}
		}
	}
	x.render(w, r, s, http.StatusOK, "at", "Time travel: "+e.TD.Title, "things", d, "")
}

// value of a history item as a number for the chart: numbers as they
// are, booleans 0 and 1.
func numeric(raw json.RawMessage) (float64, bool) {
	switch strings.TrimSpace(string(raw)) {
	case "true":
		return 1, true
	case "false":
		return 0, true
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(string(raw)), 64)
	return f, err == nil
}
