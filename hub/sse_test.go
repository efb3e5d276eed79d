package hub_test

import (
	"strings"
	"testing"

	"github.com/wotmq/wotmq/wot"
)

func TestSSEObserveProperty(t *testing.T) {
	_, agent, web := lampHub(t)
	report := func(v string) { agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte(v), nil) }
	var first sseEvent
	t.Run("LiveValuesAsUnnamedEvents", func(t *testing.T) {
		s := web.stream(lampPath + "/properties/brightness")
		report("1")
		report("2")
		first = s.next()
		second := s.next()
		if first.data != "1" || second.data != "2" || first.event != "" || first.id == "" || second.id <= first.id {
			t.Errorf("events %+v %+v", first, second)
		}
	})
	t.Run("StartsWithTheCurrentValue", func(t *testing.T) {
		s := web.stream(lampPath + "/properties/brightness")
		if ev := s.next(); ev.data != "2" {
			t.Errorf("first event %+v", ev)
		}
		report("3")
		if ev := s.next(); ev.data != "3" {
			t.Errorf("then %+v", ev)
		}
	})
	t.Run("LastEventIDResumesFromTheOutbox", func(t *testing.T) {
		s := web.stream(lampPath+"/properties/brightness", "Last-Event-ID", first.id)
		for _, want := range []string{"2", "3"} {
			if ev := s.next(); ev.data != want {
				t.Errorf("replayed %+v, want %s", ev, want)
			}
		}
		report("4")
		if ev := s.next(); ev.data != "4" {
			t.Errorf("live after replay %+v", ev)
		}
	})
	t.Run("AllPropertiesAsNamedEvents", func(t *testing.T) {
		s := web.stream(lampPath + "/properties")
		if ev := s.next(); ev.event != "brightness" || ev.data != "4" {
			t.Errorf("current value %+v", ev)
		}
		agent.mustPublish(agentTopic(wot.TopicAgentProperty, "on"), []byte("false"), nil)
		if ev := s.next(); ev.event != "on" || ev.data != "false" {
			t.Errorf("change %+v", ev)
		}
	})
	t.Run("Refusals", func(t *testing.T) {
		_, r := web.tryStream(lampPath + "/properties/nope")
		r.problem(t, 404, wot.CodeUnknownAffordance)
		_, r = web.tryStream(lampPath+"/properties/brightness", "Last-Event-ID", "not-a-cursor")
		r.problem(t, 400, wot.CodeInvalidPayload)
		_, r = web.tryStream("/things/urn:nope/properties/brightness")
		r.problem(t, 404, wot.CodeUnknownThing)
	})
}

func TestSSESubscribeEvent(t *testing.T) {
	h, agent, web := lampHub(t)
	emit := func(v string) { agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(v), nil) }
	s := web.stream(lampPath + "/events/overheating")
	emit("81")
	got := s.next()
	if got.data != "81" || got.event != "" || got.id == "" {
		t.Fatalf("event %+v", got)
	}
	t.Run("ResumeWithLastEventID", func(t *testing.T) {
		s.resp.Body.Close() // the client goes away ...
		emit("82")
		emit("83") // ... and misses these
		r := web.stream(lampPath+"/events/overheating", "Last-Event-ID", got.id)
		for _, want := range []string{"82", "83"} {
			if ev := r.next(); ev.data != want {
				t.Errorf("replayed %+v, want %s", ev, want)
			}
		}
		emit("84")
		if ev := r.next(); ev.data != "84" {
			t.Errorf("live %+v", ev)
		}
	})
	t.Run("MultiLineData", func(t *testing.T) {
		r := web.stream(lampPath + "/events/overheating")
		emit("\n85\r\n")
		if ev := r.next(); ev.data != "\n85\n" {
			t.Errorf("data %q", ev.data)
		}
	})
	t.Run("AllEventsNamed", func(t *testing.T) {
		r := web.stream(lampPath + "/events")
		emit("86")
		if ev := r.next(); ev.event != "overheating" || ev.data != "86" {
			t.Errorf("event %+v", ev)
		}
	})
	t.Run("PresenceEventResumes", func(t *testing.T) {
		r := web.stream(lampPath + "/events/presence")
		agent.mustPublish(wot.Topic{Kind: wot.TopicAgentPresence, AgentID: "lamp-agent", ThingID: lampID}.String(), []byte(`"sleeping"`), nil)
		ev := r.next()
		if !strings.Contains(ev.data, `"sleeping"`) {
			t.Fatalf("presence %+v", ev)
		}
		agent.mustPublish(wot.Topic{Kind: wot.TopicAgentPresence, AgentID: "lamp-agent", ThingID: lampID}.String(), []byte(`"online"`), nil)
		again := web.stream(lampPath+"/events/presence", "Last-Event-ID", ev.id)
		if next := again.next(); !strings.Contains(next.data, `"online"`) {
			t.Errorf("resumed with %+v, want only the later online", next)
		}
	})
	t.Run("EndsWhenTheThingIsDeleted", func(t *testing.T) {
		r := web.stream(lampPath + "/events/overheating")
		agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: lampID}.String(), nil, nil)
		r.ended()
	})
	t.Run("EndsWhenTheHubCloses", func(t *testing.T) {
		agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: lampID}.String(), lampTD(t), nil)
		r := web.stream(lampPath + "/events")
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		r.ended()
	})
}
