package wire

import (
	"errors"
	"strings"
	"testing"
)

func TestTopicRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		topic Topic
		want  string
	}{
		{"TD", Topic{Kind: TopicTD, ThingID: "urn:dev:ops:32473-WoTLamp-1234"}, "things/urn:dev:ops:32473-WoTLamp-1234/td"},
		{"Property", Topic{Kind: TopicProperty, ThingID: "t", Name: "on"}, "things/t/properties/on"},
		{"PropertySet", Topic{Kind: TopicPropertySet, ThingID: "t", Name: "on"}, "things/t/properties/on/set"},
		{"PropertyNamedSet", Topic{Kind: TopicProperty, ThingID: "t", Name: "set"}, "things/t/properties/set"},
		{"PropertyHistory", Topic{Kind: TopicPropertyHistory, ThingID: "t", Name: "on"}, "things/t/properties/on/history"},
		{"Event", Topic{Kind: TopicEvent, ThingID: "t", Name: "e"}, "things/t/events/e"},
		{"EventHistory", Topic{Kind: TopicEventHistory, ThingID: "t", Name: "e"}, "things/t/events/e/history"},
		{"Action", Topic{Kind: TopicAction, ThingID: "t", Name: "a"}, "things/t/actions/a"},
		{"ActionStatus", Topic{Kind: TopicActionStatus, ThingID: "t", Name: "a"}, "things/t/actions/a/status"},
		{"ThingHistory", Topic{Kind: TopicThingHistory, ThingID: "t"}, "things/t/history"},
		{"AgentTD", Topic{Kind: TopicAgentTD, AgentID: "ag", ThingID: "t"}, "agents/ag/things/t/td"},
		{"AgentEvent", Topic{Kind: TopicAgentEvent, AgentID: "ag", ThingID: "t", Name: "e"}, "agents/ag/things/t/events/e"},
		{"AgentProperty", Topic{Kind: TopicAgentProperty, AgentID: "ag", ThingID: "t", Name: "p"}, "agents/ag/things/t/properties/p"},
		{"Requests", Topic{Kind: TopicAgentRequests, AgentID: "ag"}, "agents/ag/requests"},
		{"Replies", Topic{Kind: TopicAgentReplies, AgentID: "ag"}, "agents/ag/replies"},
		{"ActionCancel", Topic{Kind: TopicActionCancel, ThingID: "t", Name: "a"}, "things/t/actions/a/cancel"},
		{"ActionHistory", Topic{Kind: TopicActionHistory, ThingID: "t", Name: "a"}, "things/t/actions/a/history"},
		{"PropertyDesired", Topic{Kind: TopicPropertyDesired, ThingID: "t", Name: "p"}, "things/t/properties/p/desired"},
		{"Delta", Topic{Kind: TopicDelta, ThingID: "t"}, "things/t/delta"},
		{"Presence", Topic{Kind: TopicPresence, ThingID: "t"}, "things/t/presence"},
		{"AgentPresence", Topic{Kind: TopicAgentPresence, AgentID: "ag", ThingID: "t"}, "agents/ag/things/t/presence"},
		{"Channel", Topic{Kind: TopicChannel, ThingID: "t"}, "things/t/channel"},
		{"AgentSignal", Topic{Kind: TopicAgentSignal, AgentID: "ag"}, "agents/ag/signals"},
		{"EscapedLevels", Topic{Kind: TopicEvent, ThingID: "a/b+c#d%e", Name: "x/y"}, "things/a%2Fb%2Bc%23d%25e/events/x%2Fy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.topic.String(); got != tt.want {
				t.Fatalf("String() = %q, want %q", got, tt.want)
			}
			back, err := ParseTopic(tt.want)
			if err != nil {
				t.Fatal(err)
			}
			if back != tt.topic {
				t.Errorf("ParseTopic = %+v, want %+v", back, tt.topic)
			}
		})
	}
}

func TestParseTopicRejects(t *testing.T) {
	for _, s := range []string{
		"things", "things/t", "things/t/nope", "things/t/events", "things/t/events/e/x",
		"things/t/properties/p/set/x", "things//td", "things/t/events/",
		"agents/a", "agents/a/things/t", "agents/a/things/t/actions/x", "agents/a/nope",
		"things/%2f/td", "things/%zz/td", "things/a%/td", "things/+/td", "things/#",
		"things/a\x01b/td",
	} {
		t.Run(s, func(t *testing.T) {
			_, err := ParseTopic(s)
			var we *Error
			if !errors.As(err, &we) || we.Code != CodeInvalidTopic {
				t.Errorf("ParseTopic(%q) = %v, want invalid_topic", s, err)
			}
		})
	}
	t.Run("OutsideScheme", func(t *testing.T) {
		tp, err := ParseTopic("replies/me")
		if err != nil || tp.Kind != TopicUnknown {
			t.Errorf("got %+v, %v", tp, err)
		}
	})
}

func TestCodesTable(t *testing.T) {
	for _, c := range Codes() {
		if r := c.Reason(); r < 0x80 {
			t.Errorf("%s maps to success reason %#x", c, r)
		}
		if s := c.HTTPStatus(); s < 400 {
			t.Errorf("%s maps to HTTP %d", c, s)
		}
	}
	if Code("nope").Known() {
		t.Error("unknown code reported known")
	}
}

func TestErrorIs(t *testing.T) {
	err := Errorf(CodeBusy, "action %s running", "x")
	if !errors.Is(err, &Error{Code: CodeBusy}) || errors.Is(err, &Error{Code: CodeQuota}) {
		t.Error("errors.Is does not match by code")
	}
	if CodeOf(err) != CodeBusy || CodeOf(errors.New("x")) != CodeInternal {
		t.Error("CodeOf")
	}
}

// FuzzTopic checks that parsing never panics and that every accepted topic
// builds back to itself (one spelling per topic).
func FuzzTopic(f *testing.F) {
	for _, s := range []string{"things/t/td", "agents/a/things/t/events/e", "things/a%2Fb/events/x%25", "things/t/properties/p/set", "replies/x", "things/%2F%2B%23%25/history",
		"agents/a/requests/t/invokeaction/n/r1", "agents/a/replies/r1", "agents/a/replies/r1/failed", "agents/a/replies/r1/completed", "agents/a/requests/t/x/n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tp, err := ParseTopic(s)
		if err != nil || tp.Kind == TopicUnknown {
			return
		}
		if got := tp.String(); got != s {
			t.Fatalf("ParseTopic(%q).String() = %q", s, got)
		}
	})
}

// FuzzEscape checks that every valid ID survives escaping.
func FuzzEscape(f *testing.F) {
	for _, s := range []string{"urn:dev:ops:32473-WoTLamp-1234", "a/b", "%2F", "+#", "é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ValidateID(s) != nil {
			return
		}
		back, err := UnescapeLevel(EscapeLevel(s))
		if err != nil || back != s {
			t.Fatalf("round trip of %q: %q, %v", s, back, err)
		}
	})
}

func TestLegacyAgentTopics(t *testing.T) {
	req := Topic{Kind: TopicAgentRequests, AgentID: "a/b", ThingID: "urn:x", Op: OpInvokeAction, Name: "go", ActionID: "18ea"}
	s := req.String()
	if s != "agents/a%2Fb/requests/urn:x/invokeaction/go/18ea" {
		t.Fatalf("request topic %q", s)
	}
	if got, err := ParseTopic(s); err != nil || got != req {
		t.Errorf("ParseTopic(%q) = %+v, %v", s, got, err)
	}
	if !matchesFilter(LegacyRequestsFilter("a/b"), s) || matchesFilter(LegacyRequestsFilter("a/b"), RequestsTopic("a/b")) {
		t.Errorf("LegacyRequestsFilter must match the 3.1.1 topics only")
	}
	for status, want := range map[Status]string{StatusCompleted: "agents/a/replies/18ea", StatusFailed: "agents/a/replies/18ea/failed", StatusRunning: "agents/a/replies/18ea/running"} {
		got := LegacyReplyTopic("a", "18ea", status)
		if got != want {
			t.Errorf("LegacyReplyTopic(%s) = %q, want %q", status, got, want)
		}
		if tp, err := ParseTopic(got); err != nil || tp.Kind != TopicAgentReplies || tp.ActionID != "18ea" {
			t.Errorf("ParseTopic(%q) = %+v, %v", got, tp, err)
		}
	}
	if _, err := ParseTopic("agents/a/replies/18ea/completed"); err == nil {
		t.Error("a completed status level is refused: one spelling per reply")
	}
}

// matchesFilter is MQTT topic matching for the tests' filters (+ only).
func matchesFilter(filter, topic string) bool {
	f, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	if len(f) != len(tl) {
		return false
	}
	for i := range f {
		if f[i] != "+" && f[i] != tl[i] {
			return false
		}
	}
	return true
}
