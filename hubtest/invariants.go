package hubtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// goroutinesLeft waits up to Timeout/3 for the goroutines labelled as
// hub n's to end, and returns their stacks (with how many share each)
// if some do not; "" when none is left.
func goroutinesLeft(n string) string {
	deadline := time.Now().Add(Timeout / 3)
	wait := time.Millisecond
	for {
		left := labelled(label, n)
		if left == "" || time.Now().After(deadline) {
			return left
		}
		time.Sleep(wait) // polling: the loop ends as soon as they are gone
		wait = min(2*wait, 50*time.Millisecond)
	}
}

// labelled returns the records of the goroutine profile whose goroutines
// carry the pprof label key=value, as the profile prints them (debug=1:
// one record per distinct stack and labels, with the count of goroutines
// first).
func labelled(key, value string) string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return "goroutine profile: " + err.Error()
	}
	want := strconv.Quote(key) + ":" + strconv.Quote(value)
	var out strings.Builder
	for _, rec := range strings.Split(buf.String(), "\n\n") {
		for _, line := range strings.Split(rec, "\n") {
			if l, ok := strings.CutPrefix(line, "# labels: "); ok && labelsHave(l, want) {
				out.WriteString(rec)
				out.WriteString("\n\n")
				break
			}
		}
	}
	return out.String()
}

// labelsHave reports whether a printed label set {"k":"v", ...} holds
// the pair want ("k":"v").
func labelsHave(set, want string) bool {
	set = strings.TrimSuffix(strings.TrimPrefix(set, "{"), "}")
	for _, kv := range strings.Split(set, ", ") {
		if kv == want {
			return true
		}
	}
	return false
}

// checkStore opens a stopped hub's data directory read-only and checks
// it with the stores' own code (see the package documentation,
// "Invariants"). It returns every problem found, joined.
func checkStore(ctx context.Context, dir string) error {
	db, err := badger.Open(badger.DefaultOptions(dir).WithReadOnly(true).WithLogger(nil).
		WithBlockCacheSize(1 << 20).WithIndexCacheSize(0).WithNumCompactors(0))
	if err != nil {
		return fmt.Errorf("reopen read-only: %w", err)
	}
	defer db.Close()
	things, err := directory.Open(ctx, db)
	if err != nil {
		return err
	}
	requests, err := inbox.New(db, inbox.Options{})
	if err != nil {
		// A queue entry whose request is missing stops the load.
		return fmt.Errorf("the inbox does not load: %w", err)
	}
	var errs []error
	for _, e := range things.List() {
		if err := wire.ValidateID(e.AgentID); err != nil {
			errs = append(errs, fmt.Errorf("Thing %q has no owner: agent %q: %w", e.ThingID, e.AgentID, err))
		}
		if e.TD == nil || e.TD.ID != e.ThingID {
			errs = append(errs, fmt.Errorf("Thing %q is stored without its TD, or with another's", e.ThingID))
		}
	}
	errs = append(errs, requests.Check(ctx))
	errs = append(errs, stuck(ctx, things, requests)...)
	return errors.Join(errs...)
}

// stuck returns an error for every unfinished request that the next start
// would never deliver to the agent that owns its Thing (the rule is in
// the package documentation, "Stuck requests").
func stuck(ctx context.Context, things *directory.Directory, requests *inbox.Store) []error {
	// Every unfinished request has an expiry: all expire before the end
	// of time.
	ids, err := requests.ExpiredBefore(ctx, time.Unix(math.MaxInt64/2, 0), math.MaxInt)
	if err != nil {
		return []error{err}
	}
	var errs []error
	for _, id := range ids {
		r, err := requests.Get(ctx, id)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		e, ok := things.Get(r.ThingID)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("request %s (%s %s of %q) is %s, but its Thing is not registered: it would be delivered to nobody", r.ID, r.Op, r.Name, r.ThingID, r.Status))
		case e.AgentID != r.AgentID:
			errs = append(errs, fmt.Errorf("request %s (%s %s of %q) is %s for agent %q, but the Thing belongs to %q: the owner would never get it", r.ID, r.Op, r.Name, r.ThingID, r.Status, r.AgentID, e.AgentID))
		}
	}
	return errs
}
