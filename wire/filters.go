package wire

// Topic filters and client topics that the Topic builders cannot express:
// Topic.String escapes "+" in an ID, so a wildcard level needs a builder of
// its own.

// RepliesRoot is the first level of the ResponseTopics: a client receives
// replies on replies/{its account ID}/... (docs/security.md).
const RepliesRoot = "replies"

// DirectoryFilter matches the retained twin TD of every Thing
// (things/+/td): subscribe to it to discover and watch the directory.
func DirectoryFilter() string { return ThingsRoot + "/+/td" }

// ClientRepliesTopic is the ResponseTopic of a client:
// replies/{accountID}/{clientID}, each escaped like any other topic level.
// The hub lets only that account read below replies/{accountID}
// (docs/security.md), and a ResponseTopic must lie there.
func ClientRepliesTopic(accountID, clientID string) string {
	return RepliesRoot + "/" + EscapeLevel(accountID) + "/" + EscapeLevel(clientID)
}

// MatchFilter reports whether an MQTT topic filter matches a topic name
// (MQTT 5.0 section 4.7): "+" matches one level, a trailing "#" any number
// of levels including none. Topics starting with "$" match no filter that
// starts with a wildcard [MQTT-4.7.2-1].
func MatchFilter(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := cutLevel(filter)
		if fl == "#" && !fmore {
			return true
		}
		tl, trest, tmore := cutLevel(topic)
		if fl != "+" && fl != tl {
			return false
		}
		switch {
		case !fmore && !tmore:
			return true
		case !fmore:
			return false
		case !tmore:
			return frest == "#" // "a/#" matches "a"
		}
		filter, topic = frest, trest
	}
}

func cutLevel(s string) (level, rest string, more bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '/' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}
