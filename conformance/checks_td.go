package conformance

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// problems collects the findings of a check that looks at many things, so
// that one run reports all of them.
type problems []string

func (p *problems) addf(format string, args ...any) { *p = append(*p, fmt.Sprintf(format, args...)) }

func (p problems) err() error {
	if len(p) == 0 {
		return nil
	}
	return errors.New(strings.Join(p, "; "))
}

func (s *suite) checkConnect(ctx context.Context) error {
	if s.cfg.Broker == "" {
		return errors.New("no broker address (Config.Broker)")
	}
	var err error
	s.agent, err = dial(ctx, s.cfg.Broker, "wotmq-conformance-"+s.suffix+"-agent", s.cfg.AgentID, s.cfg.AgentPassword, s.cfg.Timeout)
	if err != nil {
		return fmt.Errorf("agent %q cannot connect to %s: %w", s.cfg.AgentID, s.cfg.Broker, err)
	}
	id := "wotmq-conformance-" + s.suffix
	s.consumer, err = dial(ctx, s.cfg.Broker, id, s.cfg.Username, s.cfg.Password, s.cfg.Timeout)
	if err != nil {
		return fmt.Errorf("consumer cannot connect to %s: %w", s.cfg.Broker, err)
	}
	s.consumerID = cmp.Or(s.cfg.Username, id)
	return nil
}

func (s *suite) checkHubTD(ctx context.Context) error {
	sk, err := s.consumer.listen(ctx, wot.HubTDTopic)
	if err != nil {
		return err
	}
	defer sk.stop()
	m, err := sk.next(ctx)
	if err != nil {
		return fmt.Errorf("no hub TD: %w", err)
	}
	if !m.Retain {
		return fmt.Errorf("the hub TD on %s is not retained", wot.HubTDTopic)
	}
	hub, err := td.Parse(m.Payload)
	if err != nil {
		return fmt.Errorf("hub TD: %w", err)
	}
	if err := td.Validate(hub, td.ValidateOptions{}); err != nil {
		return fmt.Errorf("hub TD: %w", err)
	}
	var p problems
	forms := map[string]string{}
	values := map[string]string{"agentID": s.cfg.AgentID, "thingID": s.cfg.ThingID, "name": eventTick}
	for _, op := range slices.Sorted(maps.Keys(agentOpKinds)) {
		var aff *td.InteractionAffordance
		path, formOp := "$.actions."+op, td.OpInvokeAction
		if op == agentReceive {
			path, formOp = "$.events."+op, td.OpSubscribeEvent
			if e := hub.Events[op]; e != nil {
				aff = &e.InteractionAffordance
			}
		} else if a := hub.Actions[op]; a != nil {
			aff = &a.InteractionAffordance
		}
		if aff == nil {
			p.addf("%s: missing", path)
			continue
		}
		tmpl, err := formTopic(path, aff.Forms, formOp)
		if err != nil {
			p.addf("%v", err)
			continue
		}
		for _, v := range templateVars(tmpl) {
			if aff.URIVariables[v] == nil {
				p.addf("%s: template variable {%s} of %q is not declared in uriVariables", path, v, tmpl)
			}
		}
		topic, err := expand(tmpl, values)
		if err != nil {
			p.addf("%s: %v", path, err)
			continue
		}
		t, err := wot.ParseTopic(topic)
		if want := agentOpKinds[op]; err != nil || t.Kind != want || t.AgentID != s.cfg.AgentID {
			p.addf("%s: %q expands to %q, which is not an %s topic of agent %q", path, tmpl, topic, want, s.cfg.AgentID)
			continue
		}
		forms[op] = tmpl
	}
	if err := p.err(); err != nil {
		return err
	}
	s.hub, s.agentForms = hub, forms
	return nil
}

func (s *suite) checkRegister(ctx context.Context) error {
	doc, err := thingTD(s.cfg.ThingID)
	if err != nil {
		return fmt.Errorf("the suite's own TD: %w", err)
	}
	topic, err := s.agentTopic(agentUpdateTD, "")
	if err != nil {
		return err
	}
	rc, reason, err := s.agent.publish(ctx, topic, doc, nil)
	if err != nil {
		return err
	}
	if rc >= 0x80 {
		return fmt.Errorf("AgentUpdateTD on %s refused: PUBACK %#x %q", topic, rc, reason)
	}
	s.registered = true
	// Subscribe after the PUBACK: the twin TD must then come retained.
	sk, err := s.consumer.listen(ctx, wot.TDTopic(s.cfg.ThingID))
	if err != nil {
		return err
	}
	defer sk.stop()
	m, err := sk.next(ctx)
	if err != nil {
		return fmt.Errorf("no twin TD after a successful PUBACK: %w", err)
	}
	if !m.Retain {
		return fmt.Errorf("the twin TD on %s is not retained", m.Topic)
	}
	twin, err := td.Parse(m.Payload)
	if err != nil {
		return fmt.Errorf("twin TD: %w", err)
	}
	var p problems
	if twin.ID != s.cfg.ThingID {
		p.addf("twin TD id %q, want %q", twin.ID, s.cfg.ThingID)
	}
	agentTD, _ := td.Parse(doc)
	if twin.Title != agentTD.Title {
		p.addf("twin TD title %q, want the agent's %q", twin.Title, agentTD.Title)
	}
	// The twin keeps the agent's affordances; the hub may add its own.
	for n := range agentTD.Properties {
		if twin.Properties[n] == nil {
			p.addf("the twin TD lost property %q", n)
		}
	}
	for n := range agentTD.Actions {
		if twin.Actions[n] == nil {
			p.addf("the twin TD lost action %q", n)
		}
	}
	for n := range agentTD.Events {
		if twin.Events[n] == nil {
			p.addf("the twin TD lost event %q", n)
		}
	}
	// Relative hrefs (HTTP forms of a wotmq hub) resolve against base: the
	// checks below follow absolute ones.
	twin.ResolveHrefs()
	s.twin = twin
	return p.err()
}

func (s *suite) checkTwinValid(ctx context.Context) error {
	if err := td.Validate(s.twin, td.ValidateOptions{}); err != nil {
		return err
	}
	if !s.twin.Context.Has(td.ContextV11) {
		return fmt.Errorf("@context does not contain %s", td.ContextV11)
	}
	return nil
}

// pathForm is a form and its JSON path in a TD.
type pathForm struct {
	path string
	form td.Form
	// kind is "properties", "actions", "events", or "" for the Thing.
	kind, name string
}

// allForms returns every form of t in a stable order: the Thing's, then
// each property's, action's and event's by name.
func allForms(t *td.Thing) []pathForm {
	var out []pathForm
	add := func(kind, name string, forms []td.Form) {
		base := "$"
		if kind != "" {
			base = fmt.Sprintf("$.%s.%s", kind, name)
		}
		for i, f := range forms {
			out = append(out, pathForm{fmt.Sprintf("%s.forms[%d]", base, i), f, kind, name})
		}
	}
	add("", "", t.Forms)
	for _, n := range slices.Sorted(maps.Keys(t.Properties)) {
		add("properties", n, t.Properties[n].Forms)
	}
	for _, n := range slices.Sorted(maps.Keys(t.Actions)) {
		add("actions", n, t.Actions[n].Forms)
	}
	for _, n := range slices.Sorted(maps.Keys(t.Events)) {
		add("events", n, t.Events[n].Forms)
	}
	return out
}

func (s *suite) checkMQVContext(ctx context.Context) error {
	var p problems
	if iri, ok := s.twin.Context.Prefix(td.MQTTPrefix); !ok || iri != td.MQTTNamespace {
		p.addf("@context maps the prefix %q to %q, want %q", td.MQTTPrefix, iri, td.MQTTNamespace)
	}
	n := 0
	for _, pf := range allForms(s.twin) {
		f := pf.form
		topic, err := hrefTopic(f.Href)
		if err != nil {
			continue // not an MQTT form
		}
		n++
		if c := f.MQTTControlPacket; c != "" && c != td.MQTTPublish && c != td.MQTTSubscribe && c != td.MQTTUnsubscribe {
			p.addf("%s: mqv:controlPacket %q, want publish, subscribe or unsubscribe", pf.path, c)
			continue
		}
		// Every op of the form: its control packet (the form's, else the
		// binding's default) says which term names the topic.
		seen := map[string]bool{}
		for _, op := range f.Op {
			packet := packetOf(f, op)
			if seen[packet] {
				continue
			}
			seen[packet] = true
			switch packet {
			case td.MQTTPublish:
				if f.MQTTTopic == "" || strings.ContainsAny(f.MQTTTopic, "+#") {
					p.addf("%s: publish form (%s) with mqv:topic %q, want a topic name", pf.path, op, f.MQTTTopic)
				} else if topic != f.MQTTTopic {
					p.addf("%s: href path %q differs from mqv:topic %q", pf.path, topic, f.MQTTTopic)
				}
			default:
				if f.MQTTFilter == "" {
					p.addf("%s: %s form (%s) without mqv:filter", pf.path, packet, op)
				} else if topic != f.MQTTFilter {
					p.addf("%s: href path %q differs from mqv:filter %q", pf.path, topic, f.MQTTFilter)
				}
			}
		}
		if f.MQTTQoS != "0" && f.MQTTQoS != "1" && f.MQTTQoS != "2" {
			p.addf("%s: mqv:qos %q, want the string \"0\", \"1\" or \"2\"", pf.path, f.MQTTQoS)
		}
	}
	if n == 0 {
		p.addf("the twin TD has no MQTT forms")
	}
	return p.err()
}

func (s *suite) checkFormsCoverOps(ctx context.Context) error {
	var p problems
	want := func(path string, forms []td.Form, ops ...string) {
		for _, op := range ops {
			f, ok := formFor(forms, op)
			if !ok {
				p.addf("%s: no form for %s", path, op)
			} else if packetOf(f, op) != packetFor(op) {
				p.addf("%s: the %s form has mqv:controlPacket %q, want %q", path, op, f.MQTTControlPacket, packetFor(op))
			}
		}
	}
	t := s.twin
	for _, n := range slices.Sorted(maps.Keys(t.Properties)) {
		pa, path := t.Properties[n], "$.properties."+n
		if !pa.WriteOnly {
			want(path, pa.Forms, td.OpReadProperty, td.OpObserveProperty, td.OpUnobserveProperty)
		}
		if !pa.ReadOnly {
			want(path, pa.Forms, td.OpWriteProperty)
		} else if _, ok := formFor(pa.Forms, td.OpWriteProperty); ok {
			p.addf("%s: readOnly property has a writeproperty form", path)
		}
	}
	for _, n := range slices.Sorted(maps.Keys(t.Actions)) {
		want("$.actions."+n, t.Actions[n].Forms, td.OpInvokeAction, td.OpQueryAction)
	}
	for _, n := range slices.Sorted(maps.Keys(t.Events)) {
		want("$.events."+n, t.Events[n].Forms, td.OpSubscribeEvent, td.OpUnsubscribeEvent)
	}
	if len(t.Properties) > 0 {
		want("$", t.Forms, td.OpReadAllProperties, td.OpObserveAllProperties, td.OpUnobserveAllProperties)
	}
	if len(t.Events) > 0 {
		want("$", t.Forms, td.OpSubscribeAllEvents, td.OpUnsubscribeAllEvents)
	}
	if len(t.Actions) > 0 {
		want("$", t.Forms, td.OpQueryAllActions)
	}
	return p.err()
}

// schemeTopic is the topic or filter that docs/topics.md assigns to op on
// an affordance (kind "properties", "actions", "events") or on the Thing
// (kind ""), or "" for an op the scheme does not cover.
func schemeTopic(thingID, kind, name, op string) string {
	switch kind {
	case "properties":
		if op == td.OpWriteProperty {
			return wot.Topic{Kind: wot.TopicPropertySet, ThingID: thingID, Name: name}.String()
		}
		return wot.PropertyTopic(thingID, name)
	case "actions":
		if op == td.OpQueryAction {
			return wot.ActionStatusTopic(thingID, name)
		}
		if op == td.OpInvokeAction {
			return wot.ActionTopic(thingID, name)
		}
		if op == td.OpCancelAction {
			return wot.Topic{Kind: wot.TopicActionCancel, ThingID: thingID, Name: name}.String()
		}
	case "events":
		return wot.EventTopic(thingID, name) // the hub's presence event too
	case "":
		switch op {
		case td.OpReadAllProperties, td.OpObserveAllProperties, td.OpUnobserveAllProperties:
			return wot.AllPropertiesFilter(thingID)
		case td.OpSubscribeAllEvents, td.OpUnsubscribeAllEvents:
			return wot.AllEventsFilter(thingID)
		case td.OpQueryAllActions:
			return wot.AllActionStatusFilter(thingID)
		}
	}
	return ""
}

// ownAffordance reports whether kind and name are the Thing level, an
// affordance of the suite's test TD, or presence: the affordances whose
// topics docs/topics.md fixes.
func ownAffordance(kind, name string) bool {
	switch kind {
	case "properties":
		return name == propLevel || name == propSerial
	case "actions":
		return name == actScale
	case "events":
		return name == eventTick || name == eventPresence
	}
	return true
}

func (s *suite) checkFormsTopics(ctx context.Context) error {
	var p problems
	n := 0
	for _, pf := range allForms(s.twin) {
		if !ownAffordance(pf.kind, pf.name) || !isMQTT(pf.form) {
			continue // the hub's own affordances have topics of their own; other protocols' forms have none
		}
		got := cmp.Or(pf.form.MQTTTopic, pf.form.MQTTFilter)
		for _, op := range pf.form.Op {
			want := schemeTopic(s.twin.ID, pf.kind, pf.name, op)
			if want == "" {
				continue
			}
			n++
			if got != want {
				p.addf("%s (%s): topic %q, want %q", pf.path, op, got, want)
			}
		}
	}
	if n == 0 {
		p.addf("the twin TD has no forms to compare")
	}
	return p.err()
}

func (s *suite) checkInvalidTD(ctx context.Context) error {
	badID := s.cfg.ThingID + ":invalid"
	topic, err := expand(s.agentForms[agentUpdateTD], map[string]string{"agentID": s.cfg.AgentID, "thingID": badID})
	if err != nil {
		return err
	}
	// No title, and a property whose minimum exceeds its maximum.
	doc := fmt.Sprintf(`{"@context": %q, "id": %q,
		"securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc",
		"properties": {"p": {"type": "integer", "minimum": 5, "maximum": 1}}}`, td.ContextV11, badID)
	sk, err := s.consumer.listen(ctx, wot.TDTopic(badID))
	if err != nil {
		return err
	}
	defer sk.stop()
	rc, reason, err := s.agent.publish(ctx, topic, []byte(doc), nil)
	if err != nil {
		return err
	}
	if rc < 0x80 { // accepted: remove it again
		_, _, _ = s.agent.publish(ctx, topic, nil, nil)
	}
	if err := checkRefusal("AgentUpdateTD without title", rc, reason, wot.CodeInvalidTD); err != nil {
		return err
	}
	for _, path := range []string{"$.title", "$.properties.p"} {
		if !strings.Contains(reason, path) {
			return fmt.Errorf("PUBACK reason string %q does not name the problem at %s", reason, path)
		}
	}
	if m := sk.within(ctx, s.quiet()); m != nil && len(m.Payload) > 0 {
		return fmt.Errorf("the refused TD was published on %s: %.100s", m.Topic, m.Payload)
	}
	return nil
}
