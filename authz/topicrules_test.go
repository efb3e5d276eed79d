package authz_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

func openRulesStore(t *testing.T, dir string, open bool) (*authz.Store, *badger.DB) {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	st, err := authz.Open(context.Background(), db, authz.Options{PasswordCost: 4, OpenTopics: open})
	if err != nil {
		t.Fatal(err)
	}
	return st, db
}

func TestFilterCoversAndOverlaps(t *testing.T) {
	for _, tc := range []struct {
		a, b             string
		covers, overlaps bool
	}{
		{"a/b", "a/b", true, true},
		{"a/+", "a/b", true, true},
		{"a/b", "a/+", false, true},
		{"a/#", "a", true, true},
		{"a/#", "a/b/c", true, true},
		{"a/#", "a/#", true, true},
		{"#", "x/y", true, true},
		{"a/+", "a/#", false, true},
		{"a/+/c", "a/b/d", false, false},
		{"a/b", "a/b/c", false, false},
		{"a/b/c", "a/b", false, false},
		{"a", "a/#", false, true},
		{"+/+", "a/#", false, true},
		{"+", "#", false, true},
		{"x/#", "y/#", false, false},
		{"a/+", "+/b", false, true},
	} {
		if got := authz.FilterCovers(tc.a, tc.b); got != tc.covers {
			t.Errorf("FilterCovers(%q, %q) = %v", tc.a, tc.b, got)
		}
		if got := authz.FilterOverlaps(tc.a, tc.b); got != tc.overlaps {
			t.Errorf("FilterOverlaps(%q, %q) = %v", tc.a, tc.b, got)
		}
		if authz.FilterOverlaps(tc.a, tc.b) != authz.FilterOverlaps(tc.b, tc.a) {
			t.Errorf("FilterOverlaps(%q, %q) is not symmetric", tc.a, tc.b)
		}
	}
}

func TestTopicRulesDecide(t *testing.T) {
	ctx := context.Background()
	st, db := openRulesStore(t, t.TempDir(), false)
	defer db.Close()
	alice := authz.Identity{ID: "alice", Role: authz.RoleViewer, Client: "c1"}
	bob := authz.Identity{ID: "bob", Role: authz.RoleOperator, Client: "c2"}
	add := func(r authz.TopicRule) authz.TopicRule {
		t.Helper()
		r, err := st.AddTopicRule(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	t.Run("ClosedWithoutRules", func(t *testing.T) {
		if err := st.CanPublishFree(alice, "x/y"); wire.CodeOf(err) != wire.CodeDenied {
			t.Fatalf("publish without a rule: %v", err)
		}
		if st.CanSubscribeFree(alice, "x/#") || st.CanReceiveFree(alice, "x/y") {
			t.Fatal("subscribe without a rule was allowed")
		}
	})
	add(authz.TopicRule{Who: "role:viewer", Filter: "sensors/#", Subscribe: true})
	add(authz.TopicRule{Who: "*", Filter: "clients/%u/%c/#", Publish: true, Subscribe: true})
	deny := add(authz.TopicRule{Who: "*", Filter: "sensors/secret/#", Subscribe: true, Deny: true})
	add(authz.TopicRule{Who: "bob", Filter: "cmnd/+/POWER", Publish: true})
	t.Run("RoleAllowsSubscribeNotPublish", func(t *testing.T) {
		if !st.CanSubscribeFree(alice, "sensors/+/temp") || !st.CanReceiveFree(alice, "sensors/a/temp") {
			t.Fatal("viewer cannot read sensors")
		}
		if st.CanPublishFree(alice, "sensors/a/temp") == nil {
			t.Fatal("viewer may publish on sensors")
		}
		if st.CanSubscribeFree(bob, "sensors/#") {
			t.Fatal("an operator got the viewers' rule")
		}
	})
	t.Run("DenyWins", func(t *testing.T) {
		if st.CanReceiveFree(alice, "sensors/secret/k") {
			t.Fatal("deny rule did not win")
		}
		if st.CanSubscribeFree(alice, "sensors/secret/#") {
			t.Fatal("a filter the deny rule covers was admitted")
		}
		if !st.CanSubscribeFree(alice, "sensors/#") {
			t.Fatal("a filter the deny rule only overlaps was refused; its deliveries are decided one by one")
		}
	})
	t.Run("Substitution", func(t *testing.T) {
		if st.CanPublishFree(alice, "clients/alice/c1/x") != nil || !st.CanReceiveFree(alice, "clients/alice/c1/x") {
			t.Fatal("the client placeholders did not open the client's own space")
		}
		if st.CanPublishFree(alice, "clients/bob/c2/x") == nil || st.CanPublishFree(alice, "clients/alice/c2/x") == nil {
			t.Fatal("the client placeholders opened another client's space")
		}
		odd := authz.Identity{ID: "a/b", Role: authz.RoleViewer, Client: "+"}
		if st.CanPublishFree(odd, "clients/a/b/x") == nil || st.CanPublishFree(odd, "clients/a%2Fb/%2B/x") != nil {
			t.Fatal("the account and client placeholders are not escaped as one level")
		}
		noClient := authz.Identity{ID: "alice", Role: authz.RoleViewer}
		if st.CanPublishFree(noClient, "clients/alice/+/x") == nil {
			t.Fatal("an allow rule with a client placeholder matched an identity without a client ID")
		}
	})
	t.Run("AccountRule", func(t *testing.T) {
		if st.CanPublishFree(bob, "cmnd/plug1/POWER") != nil || st.CanPublishFree(alice, "cmnd/plug1/POWER") == nil {
			t.Fatal("account rule")
		}
	})
	t.Run("RemoveAndReload", func(t *testing.T) {
		if err := st.RemoveTopicRule(ctx, deny.ID); err != nil {
			t.Fatal(err)
		}
		if !st.CanReceiveFree(alice, "sensors/secret/k") {
			t.Fatal("removed deny rule still applies")
		}
		if err := st.RemoveTopicRule(ctx, deny.ID); !errors.Is(err, authz.ErrNoRule) {
			t.Fatalf("removing twice: %v", err)
		}
	})
}

func TestTopicRulesOpenInDevAndPersist(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st, db := openRulesStore(t, dir, true)
	anyone := authz.Identity{ID: "x", Role: authz.RoleService, Anonymous: true, Client: "x"}
	if st.CanPublishFree(anyone, "a/b") != nil || !st.CanSubscribeFree(anyone, "#") {
		t.Fatal("development mode does not open free topics")
	}
	r, err := st.AddTopicRule(ctx, authz.TopicRule{Who: "*", Filter: "test/nosubscribe", Subscribe: true, Deny: true})
	if err != nil {
		t.Fatal(err)
	}
	if st.CanSubscribeFree(anyone, "test/nosubscribe") {
		t.Fatal("deny rule ignored in development mode")
	}
	db.Close()
	st, db = openRulesStore(t, dir, false)
	defer db.Close()
	if got := st.TopicRules(); len(got) != 1 || got[0] != r {
		t.Fatalf("rules after reopening: %+v, want %+v", got, r)
	}
}

func TestParseTopicRuleRefuses(t *testing.T) {
	for name, r := range map[string]authz.TopicRule{
		"NoAccess":         {Who: "*", Filter: "a"},
		"ReservedThings":   {Who: "*", Filter: "things/#", Publish: true},
		"ReservedAgents":   {Who: "*", Filter: "agents/a/#", Publish: true},
		"ReservedReplies":  {Who: "*", Filter: "replies/#", Publish: true},
		"ReservedHub":      {Who: "*", Filter: "wotmq/admin", Publish: true},
		"Dollar":           {Who: "*", Filter: "$SYS/#", Subscribe: true},
		"HashNotLast":      {Who: "*", Filter: "a/#/b", Publish: true},
		"PartialWildcard":  {Who: "*", Filter: "a/b+", Publish: true},
		"Empty":            {Who: "*", Filter: "", Publish: true},
		"BadRole":          {Who: "role:king", Filter: "a", Publish: true},
		"EmptyWho":         {Who: "", Filter: "a", Publish: true},
		"TooLong":          {Who: "*", Filter: strings.Repeat("a", authz.MaxRuleFilter+1), Publish: true},
		"ControlCharacter": {Who: "\x01", Filter: "a", Publish: true},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := authz.ParseTopicRule(r); !errors.Is(err, authz.ErrBadRule) {
				t.Fatalf("ParseTopicRule(%+v) = %v, want ErrBadRule", r, err)
			}
		})
	}
}

// FuzzTopicRule feeds rule filters and topics from the network (the admin
// API) through the parser and the decisions: nothing panics, an accepted
// filter never reaches the hub's namespaces, and the filter algebra agrees
// with MatchFilter.
func FuzzTopicRule(f *testing.F) {
	for _, s := range [][2]string{{"sensors/#", "sensors/a"}, {"clients/%u/%c/#", "clients/u/c/x"}, {"+/+", "a/b"},
		{"#", "things/x/td"}, {"a/#/b", "a"}, {"%u%c/+", "x"}, {"a/+", "a/b/c"}, {"", ""}, {"$SYS/#", "$SYS/x"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, filter, topic string) {
		r, err := authz.ParseTopicRule(authz.TopicRule{Who: "*", Filter: filter, Publish: true, Subscribe: true})
		if err != nil {
			return
		}
		if !wire.ReachesFreeTopics(r.Filter) {
			t.Fatalf("accepted filter %q reaches no free topic", r.Filter)
		}
		if strings.ContainsAny(topic, "+#") || topic == "" {
			return
		}
		// A topic is a filter that matches itself alone.
		if authz.FilterCovers(filter, topic) != wire.MatchFilter(filter, topic) && !strings.HasPrefix(topic, "$") {
			t.Fatalf("FilterCovers(%q, %q) disagrees with MatchFilter", filter, topic)
		}
		if authz.FilterOverlaps(filter, topic) != wire.MatchFilter(filter, topic) && !strings.HasPrefix(topic, "$") {
			t.Fatalf("FilterOverlaps(%q, %q) disagrees with MatchFilter", filter, topic)
		}
	})
}
