package conformance

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// Defaults for Config.
const (
	DefaultAgentID = "wotmq-conformance-agent"
	DefaultTimeout = 5 * time.Second
	// ThingIDPrefix starts the default ThingID; a random suffix follows.
	ThingIDPrefix = "urn:wotmq:conformance:"
)

// Config says which hub to check and as whom. The zero value of every field
// but Broker has a default.
type Config struct {
	// Broker is the hub's MQTT over TCP address, host:port.
	Broker string
	// AgentID is the identity (MQTT username) of the agent that registers
	// the test Thing; DefaultAgentID when empty.
	AgentID string
	// AgentPassword is the agent's password or token, for a hub that asks
	// agents for credentials; optional.
	AgentPassword string
	// Username and Password are the consumer's credentials; both optional.
	// Without a username the consumer's identity is its client ID.
	Username, Password string
	// ThingID is the ID of the test Thing; ThingIDPrefix and a random
	// suffix when empty. Run registers it and deletes it again.
	ThingID string
	// Timeout bounds each check; DefaultTimeout when zero.
	Timeout time.Duration
}

// Check is one entry of the catalogue.
type Check struct {
	// ID is stable and short, such as "HUB-TD".
	ID string
	// Title says what a passing hub does.
	Title string
	// Cites names what the check enforces: a TD 1.1 assertion ID
	// ("td-op-for-property"), an MQTT 5.0 normative statement or section
	// ("[MQTT-3.3.1-5]", "MQTT 5.0 §4.10") or a section of docs/topics.md
	// ("docs/topics.md#forms").
	Cites string
}

// Result is the outcome of one check. Err is nil when the check passed.
type Result struct {
	Check
	Err error
}

// Checks returns the catalogue in the order Run runs it.
func Checks() []Check {
	out := make([]Check, len(catalogue))
	for i, e := range catalogue {
		out[i] = e.Check
	}
	return out
}

// Err joins the failures of results, one error per failed check, each
// "ID title: reason (cites ...)". It returns nil when every check passed.
func Err(results []Result) error {
	var errs []error
	for _, r := range results {
		if r.Err != nil {
			errs = append(errs, fmt.Errorf("%s %s: %w (cites %s)", r.ID, r.Title, r.Err, r.Cites))
		}
	}
	return errors.Join(errs...)
}

// entry is a check with its prerequisites and its code.
type entry struct {
	Check
	needs []string // IDs of checks that must pass first
	run   func(*suite, context.Context) error
}

// ErrSkipped is wrapped by the error of a check that did not run because a
// check it needs failed or the context ended.
var ErrSkipped = errors.New("skipped")

// Run runs every check of the catalogue against the hub at cfg.Broker, in
// order, and returns one Result per check. A check whose prerequisite
// failed fails with "skipped: prerequisite X failed". Run does not panic;
// it disconnects its clients and deletes the test Thing (an empty
// AgentUpdateTD publish) before it returns.
func Run(ctx context.Context, cfg Config) []Result {
	cfg = cfg.withDefaults()
	s := newSuite(cfg)
	defer s.close(ctx)
	passed := map[string]bool{}
	results := make([]Result, 0, len(catalogue))
	for _, e := range catalogue {
		err := s.runOne(ctx, e, passed)
		passed[e.ID] = err == nil
		results = append(results, Result{Check: e.Check, Err: err})
	}
	return results
}

func (s *suite) runOne(ctx context.Context, e entry, passed map[string]bool) (err error) {
	for _, id := range e.needs {
		if !passed[id] {
			return fmt.Errorf("%w: prerequisite %s failed", ErrSkipped, id)
		}
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("%w: %v", ErrSkipped, err)
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("panic: %v\n%s", r, debug.Stack())
		}
	}()
	return e.run(s, cctx)
}

func (c Config) withDefaults() Config {
	if c.AgentID == "" {
		c.AgentID = DefaultAgentID
	}
	if c.Timeout <= 0 {
		c.Timeout = DefaultTimeout
	}
	if c.ThingID == "" {
		c.ThingID = ThingIDPrefix + randomSuffix()
	}
	return c
}

func randomSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read does not fail
	return hex.EncodeToString(b[:])
}

// suite is the state one Run shares between its checks.
type suite struct {
	cfg    Config
	suffix string // makes client IDs and reply topics unique to this run

	agent, consumer *client
	consumerID      string // the consumer's identity: username, else client ID

	hub        *td.Thing         // the hub's TD
	agentForms map[string]string // agent operation -> topic template
	twin       *td.Thing         // the twin TD of the test Thing
	registered bool              // the test Thing exists on the hub

	requests  *sink           // the agent's requests subscription, made on first use
	handled   map[string]bool // action IDs of the requests the agent took
	events    []string        // event payloads the hub accepted, in order
	propValue []byte          // the property value PROP-RETAINED saw retained
	actionID  string          // the action ID of ACTION-ROUNDTRIP's request
	output    []byte          // the output ACTION-ROUNDTRIP completed with
}

func newSuite(cfg Config) *suite {
	return &suite{cfg: cfg, suffix: randomSuffix(), handled: map[string]bool{}}
}

// quiet is how long a check waits to see that nothing arrives.
func (s *suite) quiet() time.Duration {
	return min(s.cfg.Timeout/10, 300*time.Millisecond)
}

// replyTopic is a ResponseTopic of this run, under replies/{the consumer's
// identity}/, the only reply topics a hub lets it use (for a development
// client, the identity is the client ID wotmq-conformance-{suffix}).
func (s *suite) replyTopic(check string) string {
	if s.cfg.Username == "" {
		return "replies/wotmq-conformance-" + s.suffix + "/" + strings.ToLower(check)
	}
	return "replies/" + wot.EscapeLevel(s.consumerID) + "/wotmq-conformance-" + s.suffix + "/" + strings.ToLower(check)
}

// close deletes the test Thing if it still exists and disconnects.
func (s *suite) close(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.Timeout)
	defer cancel()
	if s.registered && s.agent != nil {
		if topic, err := s.agentTopic(agentUpdateTD, ""); err == nil {
			_, _, _ = s.agent.publish(ctx, topic, nil, nil)
		}
	}
	for _, c := range []*client{s.agent, s.consumer} {
		if c != nil {
			c.close()
		}
	}
}
