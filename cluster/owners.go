package cluster

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Owner is who holds an agent's connection.
type Owner struct {
	Node  string    `json:"node"`
	Epoch uint64    `json:"epoch"`
	Since time.Time `json:"since"`
}

// OwnersOptions configures Owners.
type OwnersOptions struct {
	// Node is this node's name.
	Node string
	// Bucket is the KV bucket; "WOTMQ_CONN" when empty.
	Bucket string
	// Replicas is the bucket's replica count; 1 when zero.
	Replicas int
	// TakenOver is called when another node claimed an agent this node
	// holds: the node ends that agent's session (MQTT 0x8E). It runs on
	// the watcher's goroutine and must not block.
	TakenOver func(agent string, by Owner)
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Log receives what an operator should hear.
	Log zerolog.Logger
}

// Owners is the cluster-wide record of which node holds each agent.
type Owners struct {
	kv      jetstream.KeyValue
	o       OwnersOptions
	w       jetstream.KeyWatcher
	stopped chan struct{}

	mu   sync.Mutex
	held map[string]uint64 // agent -> the epoch of this node's claim
}

// OpenOwners opens the bucket and starts watching it.
func OpenOwners(ctx context.Context, js jetstream.JetStream, o OwnersOptions) (*Owners, error) {
	if o.Node == "" {
		return nil, errors.New("cluster: owners need the node's name")
	}
	if o.Bucket == "" {
		o.Bucket = "WOTMQ_CONN"
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: o.Bucket, Replicas: o.Replicas,
		Storage: jetstream.FileStorage, History: 1})
	if err != nil {
		return nil, fmt.Errorf("cluster: bucket %s: %w", o.Bucket, err)
	}
	w, err := kv.WatchAll(context.Background(), jetstream.UpdatesOnly())
	if err != nil {
		return nil, fmt.Errorf("cluster: watch %s: %w", o.Bucket, err)
	}
	s := &Owners{kv: kv, o: o, w: w, stopped: make(chan struct{}), held: map[string]uint64{}}
	go s.watch()
	return s, nil
}

func agentKey(agent string) string { return base64.RawURLEncoding.EncodeToString([]byte(agent)) }

// Claim makes this node the agent's owner with an epoch above every
// earlier claim, and returns it. The node that held it hears TakenOver.
func (s *Owners) Claim(ctx context.Context, agent string) (uint64, error) {
	key := agentKey(agent)
	for range 32 {
		var cur Owner
		var rev uint64
		e, err := s.kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return 0, fmt.Errorf("cluster: claim %s: %w", agent, err)
		default:
			rev = e.Revision()
			if err := json.Unmarshal(e.Value(), &cur); err != nil {
				return 0, fmt.Errorf("cluster: claim %s: %w", agent, err)
			}
		}
		next := Owner{Node: s.o.Node, Epoch: cur.Epoch + 1, Since: s.o.Now().UTC()}
		b, _ := json.Marshal(next)
		// The epoch is noted before the write: the watcher may report the
		// write before Update returns, and must see it as this node's own.
		s.mu.Lock()
		prev, had := s.held[agent]
		s.held[agent] = next.Epoch
		s.mu.Unlock()
		if rev == 0 {
			_, err = s.kv.Create(ctx, key, b)
		} else {
			_, err = s.kv.Update(ctx, key, b, rev)
		}
		if err == nil {
			return next.Epoch, nil
		}
		s.mu.Lock()
		if s.held[agent] == next.Epoch {
			if had {
				s.held[agent] = prev
			} else {
				delete(s.held, agent)
			}
		}
		s.mu.Unlock()
		if !errors.Is(err, jetstream.ErrKeyExists) && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
			return 0, fmt.Errorf("cluster: claim %s: %w", agent, err)
		}
	}
	return 0, fmt.Errorf("cluster: claim %s: contended", agent)
}

// Release gives up an agent this node holds at epoch (its connection
// ended), unless a newer claim replaced it.
func (s *Owners) Release(ctx context.Context, agent string, epoch uint64) error {
	s.mu.Lock()
	if s.held[agent] != epoch {
		s.mu.Unlock()
		return nil
	}
	delete(s.held, agent)
	s.mu.Unlock()
	key := agentKey(agent)
	e, err := s.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	var cur Owner
	if json.Unmarshal(e.Value(), &cur) != nil || cur.Node != s.o.Node || cur.Epoch != epoch {
		return nil
	}
	err = s.kv.Delete(ctx, key, jetstream.LastRevision(e.Revision()))
	if errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch) {
		return nil // claimed meanwhile
	}
	return err
}

// Get returns an agent's owner.
func (s *Owners) Get(ctx context.Context, agent string) (Owner, bool, error) {
	e, err := s.kv.Get(ctx, agentKey(agent))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return Owner{}, false, nil
	}
	if err != nil {
		return Owner{}, false, err
	}
	var o Owner
	err = json.Unmarshal(e.Value(), &o)
	return o, err == nil, err
}

func (s *Owners) watch() {
	defer close(s.stopped)
	for e := range s.w.Updates() {
		if e == nil || e.Operation() != jetstream.KeyValuePut {
			continue
		}
		b, err := base64.RawURLEncoding.DecodeString(e.Key())
		if err != nil {
			continue
		}
		agent := string(b)
		var o Owner
		if err := json.Unmarshal(e.Value(), &o); err != nil {
			s.o.Log.Warn().Err(err).Str("agent", agent).Msg("cluster: an owner record that does not decode")
			continue
		}
		s.mu.Lock()
		mine, held := s.held[agent]
		// A claim of a higher epoch is another node's (this node's own
		// later claims raise held before they write).
		lost := held && o.Epoch > mine
		if lost {
			delete(s.held, agent)
		}
		s.mu.Unlock()
		if lost && s.o.TakenOver != nil {
			s.o.TakenOver(agent, o)
		}
	}
}

// Close stops the watcher.
func (s *Owners) Close() error {
	err := s.w.Stop()
	<-s.stopped
	return err
}
