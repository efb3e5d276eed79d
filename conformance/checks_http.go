package conformance

import (
	"bufio"
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/wotmq/wotmq/td"
)

// The HTTP checks follow the twin TD's HTTP forms (docs/http.md). A hub
// whose twin TDs have none passes them: HTTP is optional.

// isHTTP reports whether a form is one of the HTTP binding.
func isHTTP(f td.Form) bool {
	u, err := url.Parse(f.Href)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https")
}

// hasHTTP reports whether any form of the TD is an HTTP form.
func hasHTTP(t *td.Thing) bool {
	for _, pf := range allForms(t) {
		if isHTTP(pf.form) {
			return true
		}
	}
	return false
}

// httpFormFor returns the first HTTP form whose op contains op.
func httpFormFor(forms []td.Form, op string) (td.Form, bool) {
	for _, f := range forms {
		if isHTTP(f) && f.Op.Contains(op) {
			return f, true
		}
	}
	return td.Form{}, false
}

// streamed are the operations an HTTP form serves as Server-Sent Events.
var streamed = map[string]bool{
	td.OpObserveProperty: true, td.OpUnobserveProperty: true, td.OpObserveAllProperties: true,
	td.OpUnobserveAllProperties: true, td.OpSubscribeEvent: true, td.OpUnsubscribeEvent: true,
	td.OpSubscribeAllEvents: true, td.OpUnsubscribeAllEvents: true,
}

func (s *suite) checkHTTPForms(ctx context.Context) error {
	t := s.twin
	if !hasHTTP(t) {
		return nil
	}
	var p problems
	want := func(path string, forms []td.Form, ops ...string) {
		if len(forms) > 0 && !isHTTP(forms[0]) {
			p.addf("%s: the first form is not HTTP (%s): generic consumers use the scheme of the first form", path, forms[0].Href)
		}
		for _, op := range ops {
			f, ok := httpFormFor(forms, op)
			switch {
			case !ok:
				p.addf("%s: no HTTP form for %s", path, op)
			case streamed[op] && f.Subprotocol != "sse":
				p.addf("%s: the HTTP form for %s has subprotocol %q, want sse", path, op, f.Subprotocol)
			}
		}
	}
	for _, n := range slices.Sorted(maps.Keys(t.Properties)) {
		pa, path := t.Properties[n], "$.properties."+n
		if !pa.WriteOnly {
			want(path, pa.Forms, td.OpReadProperty, td.OpObserveProperty, td.OpUnobserveProperty)
		}
		if !pa.ReadOnly {
			want(path, pa.Forms, td.OpWriteProperty)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(t.Actions)) {
		want("$.actions."+n, t.Actions[n].Forms, td.OpInvokeAction, td.OpQueryAction)
	}
	for _, n := range slices.Sorted(maps.Keys(t.Events)) {
		want("$.events."+n, t.Events[n].Forms, td.OpSubscribeEvent, td.OpUnsubscribeEvent)
	}
	if len(t.Properties) > 0 {
		want("$", t.Forms, td.OpReadAllProperties, td.OpObserveAllProperties)
	}
	if len(t.Events) > 0 {
		want("$", t.Forms, td.OpSubscribeAllEvents)
	}
	if len(t.Actions) > 0 {
		want("$", t.Forms, td.OpQueryAllActions)
	}
	return p.err()
}

// httpGet sends a GET with the consumer's credentials (Basic) and returns
// the response; the caller closes its body.
func (s *suite) httpGet(ctx context.Context, href, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, href, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", accept)
	if s.cfg.Username != "" {
		req.SetBasicAuth(s.cfg.Username, s.cfg.Password)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", href, err)
	}
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s: %s", href, resp.Status, b)
	}
	return resp, nil
}

func (s *suite) checkHTTPRead(ctx context.Context) error {
	f, ok := httpFormFor(s.twin.Properties[propLevel].Forms, td.OpReadProperty)
	if !ok {
		return nil // no HTTP (HTTP-FORMS tells when forms are missing)
	}
	resp, err := s.httpGet(ctx, f.Href, "application/json")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if !jsonEqual(b, s.propValue) {
		return fmt.Errorf("GET %s answered %q, want the reported %q", f.Href, b, s.propValue)
	}
	return nil
}

func (s *suite) checkHTTPObserve(ctx context.Context) error {
	f, ok := httpFormFor(s.twin.Properties[propLevel].Forms, td.OpObserveProperty)
	if !ok {
		return nil
	}
	resp, err := s.httpGet(ctx, f.Href, "text/event-stream")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		return fmt.Errorf("GET %s (Accept: text/event-stream): Content-Type %q", f.Href, ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var id string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "event:"):
			return fmt.Errorf("%s: a named event (%s); one-affordance streams send unnamed events", f.Href, line)
		case strings.HasPrefix(line, "id:"):
			id = strings.TrimSpace(strings.TrimPrefix(line, "id:"))
		case strings.HasPrefix(line, "data:"):
			data := strings.TrimSpace(strings.TrimPrefix(line, "data:"))
			if !jsonEqual([]byte(data), s.propValue) {
				return fmt.Errorf("%s: first event %q, want the current value %q", f.Href, data, s.propValue)
			}
			if id == "" {
				return fmt.Errorf("%s: the event has no id to resume from", f.Href)
			}
			return nil
		}
	}
	return fmt.Errorf("%s: the stream ended without an event: %v", f.Href, cmp.Or(sc.Err(), ctx.Err(), io.EOF))
}
