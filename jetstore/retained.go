package jetstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/retained"
)

// Retained is retained.Store on JetStream: the retained messages of free
// topics in the KV bucket RETAINED, so that every node of a cluster has
// them, a node that was down included. Key: the topic encoded as one
// token, or for a long topic "h." and its SHA-256 (a NATS subject has a
// length limit); the value is the retained.Message, topic included.
//
// Watch hands every change, from any node, to a function that sets or
// clears the message in the node's MQTT broker.
type Retained struct {
	o  Options
	kv jetstream.KeyValue

	mu     sync.Mutex
	topics map[string]string // key -> topic, for the deletes of hashed keys
	w      jetstream.KeyWatcher
	done   chan struct{}
}

// maxPlainKey is the longest key that is the topic's encoding itself.
const maxPlainKey = 200

// OpenRetained opens the bucket.
func OpenRetained(ctx context.Context, o Options) (*Retained, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	kv, err := bucket(ctx, o, "RETAINED")
	if err != nil {
		return nil, err
	}
	return &Retained{o: o, kv: kv, topics: map[string]string{}}, nil
}

func retainedKey(topic string) string {
	if k := enc(topic); len(k) <= maxPlainKey {
		return k
	}
	sum := sha256.Sum256([]byte(topic))
	return "h." + hex.EncodeToString(sum[:])
}

// Put keeps m as the retained message of its topic; it returns once a
// quorum has it.
func (r *Retained) Put(ctx context.Context, m retained.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := retry(ctx, r.o, func() error { _, err := r.kv.Put(ctx, retainedKey(m.Topic), b); return err }); err != nil {
		return fmt.Errorf("retained: put %s: %w", m.Topic, err)
	}
	return nil
}

// Delete removes the retained message of topic, if any.
func (r *Retained) Delete(ctx context.Context, topic string) error {
	k := retainedKey(topic)
	r.mu.Lock()
	r.topics[k] = topic // for this node's own watcher
	r.mu.Unlock()
	err := retry(ctx, r.o, func() error { return r.kv.Delete(ctx, k) })
	if err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("retained: delete %s: %w", topic, err)
	}
	return nil
}

// All returns every retained message whose expiry (Unix seconds) is not
// before now; the expired ones are deleted.
func (r *Retained) All(ctx context.Context, now int64) ([]retained.Message, error) {
	keys, err := listKeys(ctx, r.kv, ">")
	if err != nil {
		return nil, fmt.Errorf("retained: list: %w", err)
	}
	var out []retained.Message
	for _, k := range keys {
		e, err := r.kv.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return nil, fmt.Errorf("retained: get: %w", err)
		}
		var m retained.Message
		if err := json.Unmarshal(e.Value(), &m); err != nil {
			return nil, fmt.Errorf("retained: decode %s: %w", k, err)
		}
		if m.Expires != 0 && m.Expires < now {
			if r.o.ReadOnly {
				continue
			}
			if err := r.kv.Delete(ctx, k, jetstream.LastRevision(e.Revision())); err != nil && !isCASConflict(err) {
				return nil, fmt.Errorf("retained: delete expired: %w", err)
			}
			continue
		}
		out = append(out, m)
	}
	return out, nil
}

// Watch calls f with every retained message in the bucket and then with
// every change, from any node, in the bucket's order: m is nil when the
// topic's message was cleared. f runs on the watcher's goroutine. Watch
// returns once the stored messages were handed over; Close stops it.
func (r *Retained) Watch(f func(topic string, m *retained.Message)) error {
	// The watcher outlives the caller's context.
	w, err := r.kv.WatchAll(context.Background())
	if err != nil {
		return fmt.Errorf("retained: watch: %w", err)
	}
	for e := range w.Updates() {
		if e == nil { // the stored messages are all in
			break
		}
		r.applyWatched(e, f)
	}
	r.mu.Lock()
	r.w, r.done = w, make(chan struct{})
	r.mu.Unlock()
	go func() {
		defer close(r.done)
		for e := range w.Updates() {
			if e != nil {
				r.applyWatched(e, f)
			}
		}
	}()
	return nil
}

func (r *Retained) applyWatched(e jetstream.KeyValueEntry, f func(string, *retained.Message)) {
	k := e.Key()
	if e.Operation() != jetstream.KeyValuePut {
		r.mu.Lock()
		topic, ok := r.topics[k]
		delete(r.topics, k)
		r.mu.Unlock()
		if !ok && !strings.HasPrefix(k, "h.") {
			t, err := dec(k)
			topic, ok = t, err == nil
		}
		if ok {
			f(topic, nil)
		}
		return
	}
	var m retained.Message
	if err := json.Unmarshal(e.Value(), &m); err != nil {
		r.o.Log.Error().Err(err).Str("key", k).Msg("retained: a stored message does not decode; left out")
		return
	}
	if strings.HasPrefix(k, "h.") {
		r.mu.Lock()
		r.topics[k] = m.Topic
		r.mu.Unlock()
	}
	f(m.Topic, &m)
}

// Close stops the watcher.
func (r *Retained) Close() error {
	r.mu.Lock()
	w, done := r.w, r.done
	r.mu.Unlock()
	if w == nil {
		return nil
	}
	err := w.Stop()
	<-done
	return err
}
