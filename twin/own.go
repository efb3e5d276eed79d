package twin

import (
	"strings"

	"github.com/wotmq/wotmq/wire"
)

// PublishOwn publishes a message the hub itself originates on a topic
// outside its namespaces: a bridge's retained discovery config, a Homie
// device's $state. Like every publish of the hub it bypasses
// authorization (the Publisher), and the in-process listeners (Listen)
// hear it. Topics of the hub's namespaces (things/, agents/, replies/,
// wotmq/) and $ topics are refused: the core alone publishes there, after
// its own checks.
//
// It never blocks on a client and may be called concurrently, but not
// from a Listen or Tap function (it is heard by the listeners).
func (c *Core) PublishOwn(m Message) error {
	switch {
	case m.Topic == "", strings.ContainsAny(m.Topic, "+#\x00"):
		return wire.Errorf(wire.CodeInvalidTopic, "cannot publish on %q", m.Topic)
	case !wire.IsFreeTopic(m.Topic):
		return wire.Errorf(wire.CodeDenied, "topic %q is in the hub's namespace: the core publishes there", m.Topic)
	}
	c.send(m)
	return nil
}
