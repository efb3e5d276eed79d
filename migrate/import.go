package migrate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/twin"
)

// Errors of Import, beside ErrArchive.
var (
	// ErrNotEmpty: the target holds data the archive does not (Things,
	// accounts); ImportOptions.Merge adds to it anyway.
	ErrNotEmpty = errors.New("migrate: the target holds other data")
	// ErrOwner: a Thing is in the target and the archive with different
	// agents; never merged.
	ErrOwner = errors.New("migrate: a Thing belongs to another agent in the target")
)

// OutboxRestorer is an outbox that stores records as another held them
// (outbox.Store.Restore, jetstore.Outbox.Restore).
type OutboxRestorer interface {
	twin.Outbox
	Restore(ctx context.Context, rec outbox.Record, retain outbox.Retain) error
}

// InboxRestorer is an inbox that stores requests as another held them
// (inbox.Store.Restore, jetstore.Inbox.Restore).
type InboxRestorer interface {
	twin.Inbox
	Restore(ctx context.Context, r *inbox.Request) error
}

// Accounts is where accounts and access lists go: *authz.Store (a single
// node's, or a cluster's over jetstore.Accounts).
type Accounts interface {
	ExportAccounts() []authz.Account
	ImportAccount(ctx context.Context, a authz.Account) error
	SetThingACL(ctx context.Context, thingID string, acl authz.ThingACL) error
}

// Rules is where the access rules of free topics go: *authz.Store (a
// single node's or a cluster's).
type Rules interface {
	TopicRules() []authz.TopicRule
	AddTopicRule(ctx context.Context, r authz.TopicRule) (authz.TopicRule, error)
}

// Target is what Import writes into: a single node's stores or a
// cluster's.
type Target struct {
	Directory twin.Directory
	Presence  twin.Presence
	Outbox    OutboxRestorer
	Inbox     InboxRestorer
	// Accounts, Rules and Retained: what is nil is not imported (counted
	// as skipped).
	Accounts Accounts
	Rules    Rules
	Retained Retained
}

// ImportOptions are Import's choices.
type ImportOptions struct {
	// Merge adds the archive to a target that holds other Things or
	// accounts; without it such a target is refused (ErrNotEmpty).
	Merge bool
	// Retention is how long imported history is kept, counted from the
	// import; the target store's default when zero.
	Retention time.Duration
}

// Import writes the archive that open returns into t. It reads the
// archive twice: first to check all of it (a damaged or cut-short archive
// writes nothing) and the target against it, then to write.
//
// Running it again with the same archive changes nothing and adds no
// history twice: a Thing's history is written only after the newest record
// the target holds for it, requests and desired states already there are
// kept, everything else is replaced by the same value.
func Import(ctx context.Context, t Target, open func() (io.ReadCloser, error), o ImportOptions) (Counts, error) {
	c := newCounts()
	owners, accounts, err := scan(open)
	if err != nil {
		return c, err
	}
	if err := checkTarget(t, owners, accounts, o.Merge); err != nil {
		return c, err
	}
	rc, err := open()
	if err != nil {
		return c, err
	}
	defer rc.Close()
	ar, err := NewReader(rc)
	if err != nil {
		return c, err
	}
	im := importer{t: t, c: c, newest: map[string]time.Time{}, retain: outbox.Retain(o.Retention)}
	for {
		if err := ctx.Err(); err != nil {
			return c, err
		}
		rec, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return c, nil
		}
		if err != nil {
			return c, err
		}
		if err := im.write(ctx, rec); err != nil {
			return c, err
		}
	}
}

// scan reads the whole archive: the Things' agents and the account IDs.
func scan(open func() (io.ReadCloser, error)) (owners map[string]string, accounts map[string]bool, err error) {
	rc, err := open()
	if err != nil {
		return nil, nil, err
	}
	defer rc.Close()
	ar, err := NewReader(rc)
	if err != nil {
		return nil, nil, err
	}
	owners, accounts = map[string]string{}, map[string]bool{}
	for {
		rec, err := ar.Next()
		if errors.Is(err, io.EOF) {
			return owners, accounts, nil
		}
		if err != nil {
			return nil, nil, err
		}
		switch rec.Kind {
		case KindThing:
			// A TD the hub would not take from its agent is not taken
			// from an archive either (the agent's rules, twin/agent.go).
			th, err := td.Parse(rec.Thing.TD)
			if err == nil {
				err = td.Validate(th, td.ValidateOptions{FormsOptional: true})
			}
			if err == nil && th.ID != rec.Thing.ID {
				err = fmt.Errorf("its id is %q", th.ID)
			}
			if err != nil {
				return nil, nil, fmt.Errorf("%w: the TD of %s: %v", ErrArchive, rec.Thing.ID, err)
			}
			owners[rec.Thing.ID] = rec.Thing.Agent
		case KindAccount:
			accounts[rec.Account.ID] = true
		}
	}
}

// checkTarget refuses a target whose Things belong to other agents, and,
// unless merge, one that holds Things or accounts the archive has not (a
// target an earlier import of the same archive wrote is fine).
func checkTarget(t Target, owners map[string]string, accounts map[string]bool, merge bool) error {
	var other, clash []string
	for _, e := range t.Directory.List() {
		a, ok := owners[e.ThingID]
		switch {
		case !ok:
			other = append(other, "Thing "+e.ThingID)
		case a != e.AgentID:
			clash = append(clash, fmt.Sprintf("%s (agent %s there, %s in the archive)", e.ThingID, e.AgentID, a))
		}
	}
	if len(clash) > 0 {
		return fmt.Errorf("%w: %s", ErrOwner, list(clash))
	}
	if t.Accounts != nil {
		for _, a := range t.Accounts.ExportAccounts() {
			if !accounts[a.ID] {
				other = append(other, "account "+a.ID)
			}
		}
	}
	if len(other) > 0 && !merge {
		return fmt.Errorf("%w: %s; import into an empty target, or give --merge to add the archive to it", ErrNotEmpty, list(other))
	}
	return nil
}

func list(s []string) string {
	if len(s) > 5 {
		return fmt.Sprintf("%s and %d more", strings.Join(s[:5], ", "), len(s)-5)
	}
	return strings.Join(s, ", ")
}

type importer struct {
	t      Target
	c      Counts
	newest map[string]time.Time // per Thing: the newest history record in the target before the import
	retain outbox.Retain
}

func (im *importer) write(ctx context.Context, rec Record) error {
	t := im.t
	stored := true
	var err error
	switch rec.Kind {
	case KindAccount:
		if t.Accounts == nil {
			stored = false
			break
		}
		err = t.Accounts.ImportAccount(ctx, *rec.Account)
	case KindACL:
		if t.Accounts == nil {
			stored = false
			break
		}
		err = t.Accounts.SetThingACL(ctx, rec.ACL.Thing, rec.ACL.ThingACL)
	case KindRule:
		if t.Rules == nil || hasRule(t.Rules.TopicRules(), *rec.Rule) {
			stored = false
			break
		}
		_, err = t.Rules.AddTopicRule(ctx, *rec.Rule)
	case KindThing:
		var th *td.Thing
		if th, err = td.Parse(rec.Thing.TD); err != nil {
			return fmt.Errorf("%w: the TD of %s: %v", ErrArchive, rec.Thing.ID, err)
		}
		_, err = t.Directory.Put(ctx, &directory.Entry{ThingID: rec.Thing.ID, AgentID: rec.Thing.Agent, TD: th, Updated: rec.Thing.Updated}, rec.Thing.TD)
	case KindPresence:
		_, _, err = t.Presence.Set(ctx, rec.Presence.ThingID, rec.Presence.State, rec.Presence.ByAgent)
	case KindAgent:
		err = t.Presence.SetAgent(ctx, *rec.Agent)
	case KindHistory:
		v := rec.Value
		newest, ok := im.newest[v.Thing]
		if !ok {
			recent, rerr := t.Outbox.Recent(ctx, v.Thing, outbox.Filter{}, 1)
			if rerr != nil {
				return fmt.Errorf("migrate: history of %s in the target: %w", v.Thing, rerr)
			}
			if len(recent) > 0 {
				newest = recent[0].Time
			}
			im.newest[v.Thing] = newest
		}
		if !v.Time.After(newest) {
			stored = false
			break
		}
		err = t.Outbox.Restore(ctx, record(v), im.retain)
	case KindLatest:
		err = t.Outbox.Restore(ctx, record(rec.Value), outbox.RetainNone)
	case KindRequest:
		if _, gerr := t.Inbox.Get(ctx, rec.Request.ID); gerr == nil {
			stored = false
			break
		}
		err = t.Inbox.Restore(ctx, rec.Request)
	case KindDesired:
		d := rec.Desired
		if _, ok, gerr := t.Inbox.GetDesired(ctx, d.Thing, d.Name); gerr != nil {
			return gerr
		} else if ok {
			stored = false
			break
		}
		_, err = t.Inbox.SetDesired(ctx, d.Thing, d.Name, d.Value, d.ActionID)
	case KindRetained:
		if t.Retained == nil {
			stored = false
			break
		}
		err = t.Retained.Put(ctx, *rec.Retained)
	}
	if err != nil {
		return fmt.Errorf("migrate: import %s: %w", rec.Kind, err)
	}
	if stored {
		im.c.Records[rec.Kind]++
	} else {
		im.c.Skipped[rec.Kind]++
	}
	return nil
}

func record(v *Value) outbox.Record {
	return outbox.Record{Kind: v.Kind, ThingID: v.Thing, Name: v.Name, Value: v.Value, Sender: v.Sender, Time: v.Time, Origin: v.Origin}
}

// hasRule reports whether rules hold one that decides what r decides.
func hasRule(rules []authz.TopicRule, r authz.TopicRule) bool {
	for _, x := range rules {
		if x.Who == r.Who && x.Filter == r.Filter && x.Publish == r.Publish && x.Subscribe == r.Subscribe && x.Deny == r.Deny {
			return true
		}
	}
	return false
}
