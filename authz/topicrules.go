package authz

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/wotmq/wotmq/wire"
)

// Free topics (docs/security.md, "Free topics and access rules"): every
// topic outside the hub's namespaces (wire.IsFreeTopic) works as on a plain
// MQTT broker, decided by access rules in the style of Mosquitto's
// dynamic-security plugin.
//
//   - A rule names who (an account ID, "role:NAME" or "*" for every
//     client), a topic filter, what it governs (publish, subscribe or
//     both) and whether it allows or denies.
//   - In a filter, %u stands for the client's account and %c for its
//     client ID, each escaped as a topic level (wire.EscapeLevel), so that
//     neither can reach another level.
//   - Deny wins: a publish on topic T is refused when a deny rule for
//     publish matches T, allowed when an allow rule does, otherwise the
//     default decides: open in development mode (every free topic open to
//     every client), closed with accounts.
//   - A subscription filter F is refused when a deny rule for subscribe
//     covers F (every topic F can match is denied), admitted when the
//     default is open or an allow rule overlaps F (some topic both match).
//     Every delivery on a free topic is then decided like a publish, by
//     the subscribe rules, so that a wide filter never shows more than
//     the rules allow.
//   - Rules apply to live connections at once: publishes and deliveries
//     are decided when they happen, with the rules of that moment. A
//     subscription that a changed rule no longer allows stays in its
//     session but receives nothing the rules deny, and receives again if a
//     rule allows it again; nothing is disconnected.

// TopicRule is an access rule for free topics.
type TopicRule struct {
	// ID names the rule (made up by the store).
	ID string `json:"id"`
	// Who is an account ID, "role:NAME" or "*" (every client, anonymous
	// development clients too).
	Who string `json:"who"`
	// Filter is an MQTT topic filter over free topics; %u and %c stand
	// for the client's account and client ID.
	Filter string `json:"filter"`
	// Publish and Subscribe say what the rule governs; at least one.
	Publish   bool `json:"publish,omitempty"`
	Subscribe bool `json:"subscribe,omitempty"`
	// Deny makes the rule refuse what it matches; otherwise it allows.
	Deny    bool      `json:"deny,omitempty"`
	Created time.Time `json:"created"`
}

// MaxTopicRules bounds the rules a hub holds: each publish and delivery on
// a free topic is checked against them.
const MaxTopicRules = 1000

// MaxRuleFilter bounds a rule's filter (bytes).
const MaxRuleFilter = 1024

// ParseTopicRule checks a rule's who and filter (from the CLI, the admin
// API or the store) and returns it normalised; its ID is kept.
func ParseTopicRule(r TopicRule) (TopicRule, error) {
	switch {
	case r.Who == "*":
	case strings.HasPrefix(r.Who, "role:"):
		if _, err := ParseRole(r.Who[len("role:"):]); err != nil {
			return r, fmt.Errorf("%w: who %q", ErrBadRule, r.Who)
		}
	default:
		if err := wire.ValidateID(r.Who); err != nil {
			return r, fmt.Errorf("%w: who %q (an account ID, role:NAME or *)", ErrBadRule, r.Who)
		}
	}
	if !r.Publish && !r.Subscribe {
		return r, fmt.Errorf("%w: a rule governs publish, subscribe or both", ErrBadRule)
	}
	if err := checkRuleFilter(r.Filter); err != nil {
		return r, err
	}
	return r, nil
}

// checkRuleFilter checks that f is a topic filter over free topics.
func checkRuleFilter(f string) error {
	switch {
	case f == "":
		return fmt.Errorf("%w: empty filter", ErrBadRule)
	case len(f) > MaxRuleFilter:
		return fmt.Errorf("%w: filter longer than %d bytes", ErrBadRule, MaxRuleFilter)
	case !utf8.ValidString(f) || strings.ContainsRune(f, 0):
		return fmt.Errorf("%w: filter %q is not valid UTF-8 without NUL", ErrBadRule, f)
	case f[0] == '$':
		return fmt.Errorf("%w: filter %q: topics starting with $ are the broker's", ErrBadRule, f)
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		if strings.ContainsAny(l, "+#") && len(l) > 1 {
			return fmt.Errorf("%w: filter %q: a wildcard must be a whole level", ErrBadRule, f)
		}
		if l == "#" && i != len(levels)-1 {
			return fmt.Errorf("%w: filter %q: # must be the last level", ErrBadRule, f)
		}
	}
	if first := levels[0]; first != "+" && first != "#" && !wire.IsFreeTopic(f) {
		return fmt.Errorf("%w: filter %q lies in the hub's namespace %s/, which rules do not govern (docs/security.md)", ErrBadRule, f, first)
	}
	return nil
}

// AddTopicRule stores a new rule and returns it with its ID.
func (s *Store) AddTopicRule(ctx context.Context, r TopicRule) (TopicRule, error) {
	r, err := ParseTopicRule(r)
	if err != nil {
		return r, err
	}
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		return r, err
	}
	r.ID = hex.EncodeToString(b)
	r.Created = s.now().UTC()
	if len(s.rulesSnapshot()) >= MaxTopicRules {
		return r, fmt.Errorf("%w: at most %d access rules", ErrTooManyRules, MaxTopicRules)
	}
	err = s.write(ctx, func() (Record, error) { return s.backend.Put(ctx, Record{Kind: RecordRule, Key: r.ID, Rule: r}) })
	if err != nil {
		return r, fmt.Errorf("authz: store rule: %w", err)
	}
	return r, nil
}

// RemoveTopicRule deletes a rule by ID.
func (s *Store) RemoveTopicRule(ctx context.Context, id string) error {
	rules := s.rulesSnapshot()
	i := sort.Search(len(rules), func(i int) bool { return rules[i].ID >= id })
	if i == len(rules) || rules[i].ID != id {
		return fmt.Errorf("%w: %q", ErrNoRule, id)
	}
	err := s.write(ctx, func() (Record, error) { return s.backend.Put(ctx, Record{Kind: RecordRule, Key: id, Deleted: true}) })
	if err != nil {
		return fmt.Errorf("authz: delete rule: %w", err)
	}
	return nil
}

// TopicRules lists the rules, ordered by ID.
func (s *Store) TopicRules() []TopicRule {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return append([]TopicRule(nil), s.rules...)
}

// FreeTopicsOpen reports whether free topics are open to every client
// unless a rule denies (development mode).
func (s *Store) FreeTopicsOpen() bool { return s.openTopics }

// appliesTo reports whether r is a rule for id.
func (r *TopicRule) appliesTo(id Identity) bool {
	switch {
	case r.Who == "*":
		return true
	case strings.HasPrefix(r.Who, "role:"):
		return r.Who[len("role:"):] == string(id.Role)
	}
	return r.Who == id.ID && id.ID != ""
}

// filterFor is r's filter for id, %u and %c replaced; ok is false when
// the filter names a value id lacks (a client ID over HTTP): an allow rule
// then matches nothing, a deny rule takes the level as "+".
func (r *TopicRule) filterFor(id Identity) (string, bool) {
	f := r.Filter
	if !strings.Contains(f, "%") {
		return f, true
	}
	ok := true
	sub := func(v string) string {
		if v == "" {
			ok = false
			return "+"
		}
		return wire.EscapeLevel(v)
	}
	f = strings.NewReplacer("%u", sub(id.ID), "%c", sub(id.Client)).Replace(f)
	if !ok && strings.ContainsAny(f, "+") {
		// A "+" inside a level is not a wildcard; make the whole level one.
		levels := strings.Split(f, "/")
		for i, l := range levels {
			if len(l) > 1 && strings.Contains(l, "+") {
				levels[i] = "+"
			}
		}
		f = strings.Join(levels, "/")
	}
	return f, ok
}

// rulesSnapshot returns the current rules; the slice is never changed in
// place (apply makes a new array for every change).
func (s *Store) rulesSnapshot() []TopicRule {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.rules
}

// decideTopic decides a publish (pub) or a delivery on a free topic.
func (s *Store) decideTopic(id Identity, topic string, pub bool) (allowed bool, deniedBy string) {
	allowed = s.openTopics
	rules := s.rulesSnapshot()
	for i := range rules {
		r := &rules[i]
		if (pub && !r.Publish) || (!pub && !r.Subscribe) || !r.appliesTo(id) {
			continue
		}
		f, ok := r.filterFor(id)
		if !ok && !r.Deny {
			continue
		}
		if !wire.MatchFilter(f, topic) {
			continue
		}
		if r.Deny {
			return false, r.ID
		}
		allowed = true
	}
	return allowed, ""
}

// CanPublishFree decides a publish on a free topic.
func (s *Store) CanPublishFree(id Identity, topic string) error {
	ok, by := s.decideTopic(id, topic, true)
	switch {
	case by != "":
		return denied("%q may not publish on %q (access rule %s)", id.ID, topic, by)
	case !ok:
		return denied("%q may not publish on %q: no access rule allows it (docs/security.md, free topics)", id.ID, topic)
	}
	return nil
}

// CanReceiveFree decides one delivery on a free topic.
func (s *Store) CanReceiveFree(id Identity, topic string) bool {
	ok, _ := s.decideTopic(id, topic, false)
	return ok
}

// CanSubscribeFree decides a subscription filter that reaches free
// topics: refused when a deny rule covers it, admitted when the default is
// open or an allow rule overlaps it.
func (s *Store) CanSubscribeFree(id Identity, filter string) bool {
	rules := s.rulesSnapshot()
	allowed := s.openTopics
	for i := range rules {
		r := &rules[i]
		if !r.Subscribe || !r.appliesTo(id) {
			continue
		}
		f, ok := r.filterFor(id)
		switch {
		case r.Deny && FilterCovers(f, filter):
			return false
		case !r.Deny && ok && FilterOverlaps(f, filter):
			allowed = true
		}
	}
	return allowed
}

// FilterCovers reports whether every topic that filter b matches is also
// matched by filter a (both valid MQTT filters).
func FilterCovers(a, b string) bool {
	for {
		al, arest, amore := strings.Cut(a, "/")
		if al == "#" {
			return true
		}
		bl, brest, bmore := strings.Cut(b, "/")
		switch {
		case bl == "#":
			return false // b reaches every depth here; only "#" covers it
		case bl == "+" && al != "+":
			return false
		case al != "+" && al != bl:
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !bmore:
			return arest == "#" // "x/#" matches "x" too
		case !amore:
			return false
		}
		a, b = arest, brest
	}
}

// FilterOverlaps reports whether some topic is matched by both filters.
func FilterOverlaps(a, b string) bool {
	for {
		al, arest, amore := strings.Cut(a, "/")
		bl, brest, bmore := strings.Cut(b, "/")
		if al == "#" || bl == "#" {
			return true
		}
		if al != "+" && bl != "+" && al != bl {
			return false
		}
		switch {
		case !amore && !bmore:
			return true
		case !amore:
			return brest == "#"
		case !bmore:
			return arest == "#"
		}
		a, b = arest, brest
	}
}
