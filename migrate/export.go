package migrate

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/retained"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// Retained is a store of free topics' retained messages: retained.Store
// on a single node, the cluster's bucket on JetStream.
type Retained interface {
	Put(ctx context.Context, m retained.Message) error
	All(ctx context.Context, now int64) ([]retained.Message, error)
}

// Source is the data Export reads: a stopped single node's stores, or a
// running cluster's (opened read-only, jetstore.Options.ReadOnly).
type Source struct {
	Directory twin.Directory
	Presence  twin.Presence
	Outbox    twin.Outbox
	Inbox     twin.Inbox
	// Authz holds the accounts, access lists and access rules; none are
	// exported when nil.
	Authz *authz.Store
	// Retained holds free topics' retained messages; none when nil.
	Retained Retained
	// Name says where the data came from, in the archive's header.
	Name string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Counts are how many records of each kind an export wrote or an import
// stored (or, in Skipped, left out: there already, or the target does
// not keep them).
type Counts struct {
	Records map[string]int `json:"records"`
	Skipped map[string]int `json:"skipped,omitempty"`
}

func newCounts() Counts { return Counts{Records: map[string]int{}, Skipped: map[string]int{}} }

// String is a one-line summary, kinds in the archive's order.
func (c Counts) String() string {
	s := ""
	for _, k := range kindOrder {
		if n := c.Records[k]; n > 0 {
			s += fmt.Sprintf("%s%d %s", sep(s), n, k)
		}
		if n := c.Skipped[k]; n > 0 {
			s += fmt.Sprintf("%s%d %s skipped", sep(s), n, k)
		}
	}
	if s == "" {
		return "nothing"
	}
	return s
}

func sep(s string) string {
	if s == "" {
		return ""
	}
	return ", "
}

var kindOrder = []string{KindAccount, KindACL, KindRule, KindThing, KindPresence, KindAgent, KindHistory, KindLatest, KindRequest, KindDesired, KindRetained}

// Export writes everything src holds to w as one archive (see doc.go).
// A single node's stores are read while the hub is stopped; a running
// cluster's change meanwhile, and each record is as it was when read.
func Export(ctx context.Context, src Source, w io.Writer) (Counts, error) {
	now := time.Now
	if src.Now != nil {
		now = src.Now
	}
	c := newCounts()
	aw, err := NewWriter(w, Header{Created: now().UTC(), Source: src.Name})
	if err != nil {
		return c, err
	}
	put := func(kind string, v any) error {
		if err := aw.Write(kind, v); err != nil {
			return err
		}
		c.Records[kind]++
		return nil
	}
	if src.Authz != nil {
		for _, a := range src.Authz.ExportAccounts() {
			if err := put(KindAccount, a); err != nil {
				return c, err
			}
		}
		acls := src.Authz.ThingACLs()
		for _, id := range sortedKeys(acls) {
			if err := put(KindACL, ACL{Thing: id, ThingACL: acls[id]}); err != nil {
				return c, err
			}
		}
		for _, r := range src.Authz.TopicRules() {
			if err := put(KindRule, r); err != nil {
				return c, err
			}
		}
	}
	things := src.Directory.List()
	sort.Slice(things, func(i, j int) bool { return things[i].ThingID < things[j].ThingID })
	agents := map[string]bool{}
	for _, e := range things {
		raw, err := td.Marshal(e.TD)
		if err != nil {
			return c, fmt.Errorf("migrate: TD of %s: %w", e.ThingID, err)
		}
		if err := put(KindThing, Thing{ID: e.ThingID, Agent: e.AgentID, Updated: e.Updated, TD: raw}); err != nil {
			return c, err
		}
		agents[e.AgentID] = true
	}
	for _, e := range things {
		p, err := src.Presence.Get(ctx, e.ThingID)
		if err != nil {
			return c, fmt.Errorf("migrate: presence of %s: %w", e.ThingID, err)
		}
		if p.Seq == 0 {
			continue
		}
		if err := put(KindPresence, ThingPresence{ThingID: e.ThingID, Thing: p}); err != nil {
			return c, err
		}
	}
	as, err := src.Presence.Agents(ctx)
	if err != nil {
		return c, fmt.Errorf("migrate: agents: %w", err)
	}
	for _, a := range as {
		agents[a.ID] = true
		if err := put(KindAgent, a); err != nil {
			return c, err
		}
	}
	for _, e := range things {
		if err := exportValues(ctx, src.Outbox, e.ThingID, put); err != nil {
			return c, err
		}
	}
	if err := exportRequests(ctx, src.Inbox, things, agents, put); err != nil {
		return c, err
	}
	for _, e := range things {
		ds, err := src.Inbox.DesiredAll(ctx, e.ThingID)
		if err != nil {
			return c, fmt.Errorf("migrate: desired states of %s: %w", e.ThingID, err)
		}
		for _, d := range ds {
			if err := put(KindDesired, Desired{Thing: e.ThingID, Desired: d}); err != nil {
				return c, err
			}
		}
	}
	if src.Retained != nil {
		ms, err := src.Retained.All(ctx, now().Unix())
		if err != nil {
			return c, fmt.Errorf("migrate: retained messages: %w", err)
		}
		sort.Slice(ms, func(i, j int) bool { return ms[i].Topic < ms[j].Topic })
		for _, m := range ms {
			if err := put(KindRetained, m); err != nil {
				return c, err
			}
		}
	}
	return c, aw.Close()
}

// exportValues writes a Thing's history, oldest first, then its latest
// values.
func exportValues(ctx context.Context, ob twin.Outbox, thingID string, put func(string, any) error) error {
	q := wire.HistoryQuery{Limit: outbox.MaxPageSize}
	for {
		page, err := ob.History(ctx, thingID, outbox.Filter{}, q)
		if err != nil {
			return fmt.Errorf("migrate: history of %s: %w", thingID, err)
		}
		for _, it := range page.Items {
			// The cursor is the store's time; the item's time is when the
			// record happened, which its publisher may have said (Origin).
			at, err := cursorTime(it.Cursor)
			if err != nil {
				return fmt.Errorf("migrate: history of %s: %w", thingID, err)
			}
			v := Value{Thing: thingID, Kind: it.Kind, Name: it.Name, Value: it.Value, Sender: it.Sender, Time: at}
			if !it.Time.Equal(at) {
				v.Origin = it.Time
			}
			if err := put(KindHistory, v); err != nil {
				return err
			}
		}
		if page.Next == "" {
			break
		}
		q.Cursor = page.Next
	}
	latest, err := ob.LatestAll(ctx, thingID, "")
	if err != nil {
		return fmt.Errorf("migrate: latest values of %s: %w", thingID, err)
	}
	for _, r := range latest {
		if err := put(KindLatest, valueOf(r)); err != nil {
			return err
		}
	}
	return nil
}

func valueOf(r outbox.Record) Value {
	return Value{Thing: r.ThingID, Kind: r.Kind, Name: r.Name, Value: r.Value, Sender: r.Sender, Time: r.Time, Origin: r.Origin}
}

// exportRequests writes the unfinished requests of every agent and the
// kept outcomes and latest requests of every affordance, in ID order (the
// order they were made in).
func exportRequests(ctx context.Context, in twin.Inbox, things []*directory.Entry, agents map[string]bool, put func(string, any) error) error {
	byID := map[string]*inbox.Request{}
	for _, a := range sortedKeys(agents) {
		rs, err := in.Unfinished(ctx, a)
		if err != nil {
			return fmt.Errorf("migrate: requests of %s: %w", a, err)
		}
		for _, r := range rs {
			byID[r.ID] = r
		}
	}
	for _, e := range things {
		var names [][2]string
		for n := range e.TD.Actions {
			names = append(names, [2]string{wire.OpInvokeAction, n})
		}
		for n := range e.TD.Properties {
			names = append(names, [2]string{wire.OpWriteProperty, n})
		}
		for _, n := range names {
			rs, err := in.Outcomes(ctx, e.ThingID, n[0], n[1])
			if err != nil {
				return fmt.Errorf("migrate: outcomes of %s/%s: %w", e.ThingID, n[1], err)
			}
			for _, r := range rs {
				byID[r.ID] = r
			}
		}
		rs, err := in.LatestAll(ctx, e.ThingID)
		if err != nil {
			return fmt.Errorf("migrate: latest requests of %s: %w", e.ThingID, err)
		}
		for _, r := range rs {
			byID[r.ID] = r
		}
	}
	for _, id := range sortedKeys(byID) {
		if err := put(KindRequest, byID[id]); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// cursorTime is the store's time a history cursor stands for (16 hex
// digits of Unix nanoseconds, docs/storage.md).
func cursorTime(c string) (time.Time, error) {
	n, err := strconv.ParseUint(c, 16, 63)
	if err != nil || len(c) != 16 {
		return time.Time{}, fmt.Errorf("a history cursor %q", c)
	}
	return time.Unix(0, int64(n)).UTC(), nil
}
