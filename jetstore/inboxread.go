package jetstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/wire"
)

// Queue summarises an agent's unfinished requests in arrival order.
func (s *Inbox) Queue(ctx context.Context, agentID string) ([]inbox.Entry, error) {
	s.mu.Lock()
	out := make([]inbox.Entry, 0, len(s.queues[agentID]))
	for _, e := range s.queues[agentID] {
		out = append(out, e)
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

// Unfinished returns an agent's unfinished requests in arrival order.
func (s *Inbox) Unfinished(ctx context.Context, agentID string) ([]*inbox.Request, error) {
	return s.requests(agentID, func(inbox.Entry) bool { return true }), nil
}

// Pending returns an agent's pending requests in arrival order.
func (s *Inbox) Pending(ctx context.Context, agentID string) ([]*inbox.Request, error) {
	return s.requests(agentID, func(e inbox.Entry) bool { return e.Status == wire.StatusPending }), nil
}

func (s *Inbox) requests(agentID string, keep func(inbox.Entry) bool) []*inbox.Request {
	s.mu.Lock()
	var out []*inbox.Request
	for _, e := range s.queues[agentID] {
		if keep(e) {
			c := *s.live[e.ID]
			out = append(out, &c)
		}
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Outstanding reports how many of an agent's requests are delivered and
// not yet answered, and whether any wait to be delivered.
func (s *Inbox) Outstanding(agentID string) (delivered int, pending bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.queues[agentID] {
		switch e.Status {
		case wire.StatusDelivered:
			delivered++
		case wire.StatusPending:
			pending = true
		}
	}
	return delivered, pending
}

// Len is the number of unfinished requests of all agents.
func (s *Inbox) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// Counts returns the number of unfinished requests by status.
func (s *Inbox) Counts() map[wire.Status]int {
	out := map[wire.Status]int{}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.live {
		out[r.Status]++
	}
	return out
}

// ExpiredBefore returns the IDs of unfinished requests whose expiry is at
// or before t, oldest expiry first, at most limit of them.
func (s *Inbox) ExpiredBefore(ctx context.Context, t time.Time, limit int) ([]string, error) {
	var due []inbox.Entry
	s.mu.Lock()
	for _, q := range s.queues {
		for _, e := range q {
			if !e.Expires.After(t) {
				due = append(due, e)
			}
		}
	}
	s.mu.Unlock()
	sort.Slice(due, func(i, j int) bool {
		if !due[i].Expires.Equal(due[j].Expires) {
			return due[i].Expires.Before(due[j].Expires)
		}
		return due[i].ID < due[j].ID
	})
	ids := make([]string, 0, min(len(due), limit))
	for _, e := range due[:min(len(due), limit)] {
		ids = append(ids, e.ID)
	}
	return ids, nil
}

// Latest returns the newest request for an action or property write.
func (s *Inbox) Latest(ctx context.Context, thingID, op, name string) (*inbox.Request, error) {
	e, err := s.latest.Get(ctx, affordanceKey(thingID, op, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, fmt.Errorf("%w: no request for %s %s", inbox.ErrNotFound, thingID, name)
	}
	if err != nil {
		return nil, err
	}
	r, err := s.Get(ctx, string(e.Value()))
	if err == nil && affordanceKey(r.ThingID, r.Op, r.Name) != affordanceKey(thingID, op, name) {
		// The pointer was written beside a record whose ID turned out
		// taken by another node's request (Replace writes both at once),
		// and the next attempt's pointer is not in yet.
		return nil, fmt.Errorf("%w: no request for %s %s", inbox.ErrNotFound, thingID, name)
	}
	return r, err
}

// LatestAll returns the newest request of every affordance of a Thing that
// has one still stored, ordered by affordance.
func (s *Inbox) LatestAll(ctx context.Context, thingID string) ([]*inbox.Request, error) {
	keys, err := listKeys(ctx, s.latest, enc(thingID)+".>")
	if err != nil {
		return nil, err
	}
	var out []*inbox.Request
	for _, k := range keys {
		e, err := s.latest.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		r, err := s.Get(ctx, string(e.Value()))
		if errors.Is(err, inbox.ErrNotFound) {
			continue // retention ended
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Op != out[j].Op {
			return out[i].Op == wire.OpInvokeAction
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// Outcomes returns the kept finished requests of an affordance, newest
// first.
func (s *Inbox) Outcomes(ctx context.Context, thingID, op, name string) ([]*inbox.Request, error) {
	s.waitMoved(affordanceKey(thingID, op, name)) // this node's finished requests are in the list
	e, err := s.outcomes.Get(ctx, affordanceKey(thingID, op, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var ids []string
	if err := json.Unmarshal(e.Value(), &ids); err != nil {
		return nil, fmt.Errorf("inbox: decode outcomes: %w", err)
	}
	var out []*inbox.Request
	for i := len(ids) - 1; i >= 0; i-- {
		r, err := s.Get(ctx, ids[i])
		if errors.Is(err, inbox.ErrNotFound) {
			continue // retention ended
		}
		if err != nil {
			return out, err
		}
		out = append(out, r)
	}
	return out, nil
}

// DeleteThing removes everything the inbox keeps about a Thing except its
// unfinished requests, which the caller fails first.
func (s *Inbox) DeleteThing(ctx context.Context, thingID string) error {
	s.waitMoved(enc(thingID) + ".") // no move of this node's re-creates an outcome list after
	for _, kv := range []jetstream.KeyValue{s.latest, s.outcomes, s.desired} {
		keys, err := listKeys(ctx, kv, enc(thingID)+".>")
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := retry(ctx, s.o, func() error { return kv.Purge(ctx, k) }); err != nil {
				return fmt.Errorf("inbox: delete %s: %w", thingID, err)
			}
		}
	}
	return nil
}

func listKeys(ctx context.Context, kv jetstream.KeyValue, filter string) ([]string, error) {
	lister, err := kv.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	return keys, nil
}

func desiredKey(thingID, name string) string { return enc(thingID) + "." + enc(name) }

func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// SetDesired records value as the desired state of a property; its
// Version is one more than the previous one's (compare-and-set).
func (s *Inbox) SetDesired(ctx context.Context, thingID, name string, value json.RawMessage, actionID string) (inbox.Desired, error) {
	d := inbox.Desired{Name: name, Value: value, Time: s.o.Now().UTC(), ActionID: actionID}
	_, err := kvUpdate(ctx, s.o, s.desired, desiredKey(thingID, name), func(cur []byte) ([]byte, bool, bool, error) {
		var prev inbox.Desired
		if cur != nil {
			if err := json.Unmarshal(cur, &prev); err != nil {
				return nil, false, false, err
			}
		}
		d.Version = prev.Version + 1
		b, err := json.Marshal(d)
		return b, false, false, err
	})
	if err != nil {
		return d, fmt.Errorf("inbox: desired %s/%s: %w", thingID, name, err)
	}
	return d, nil
}

// ClearDesired ends the desired state of a property, if actionID is empty
// or names the write that set it, and reports whether it did.
func (s *Inbox) ClearDesired(ctx context.Context, thingID, name, actionID string) (bool, error) {
	cleared := false
	_, err := kvUpdate(ctx, s.o, s.desired, desiredKey(thingID, name), func(cur []byte) ([]byte, bool, bool, error) {
		cleared = false
		if cur == nil {
			return nil, false, true, nil
		}
		var d inbox.Desired
		if err := json.Unmarshal(cur, &d); err != nil {
			return nil, false, false, err
		}
		if isNull(d.Value) || (actionID != "" && d.ActionID != actionID) {
			return nil, false, true, nil
		}
		d.Value, d.ActionID, d.Time = nil, "", s.o.Now().UTC()
		cleared = true
		b, err := json.Marshal(d)
		return b, false, false, err
	})
	if err != nil {
		return false, fmt.Errorf("inbox: desired %s/%s: %w", thingID, name, err)
	}
	return cleared, nil
}

// DesiredAll returns the properties of a Thing that have a desired state,
// by name.
func (s *Inbox) DesiredAll(ctx context.Context, thingID string) ([]inbox.Desired, error) {
	keys, err := listKeys(ctx, s.desired, enc(thingID)+".*")
	if err != nil {
		return nil, err
	}
	var out []inbox.Desired
	for _, k := range keys {
		e, err := s.desired.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return out, err
		}
		var d inbox.Desired
		if err := json.Unmarshal(e.Value(), &d); err != nil {
			return out, err
		}
		if !isNull(d.Value) {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// GetDesired returns the desired state of one property, if it has one.
func (s *Inbox) GetDesired(ctx context.Context, thingID, name string) (inbox.Desired, bool, error) {
	var d inbox.Desired
	e, err := s.desired.Get(ctx, desiredKey(thingID, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	if err := json.Unmarshal(e.Value(), &d); err != nil {
		return d, false, err
	}
	return d, !isNull(d.Value), nil
}
