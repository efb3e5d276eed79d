package jetstore

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Errors returned by the stores.
var (
	ErrOptions  = errors.New("jetstore: bad options")
	ErrConflict = errors.New("jetstore: write conflict persisted") // compare-and-set lost too often
	// ErrNoStore: a bucket or stream is missing where Options.Mode is
	// Existing (the NATS is not a wotmq cluster's, or not with this Prefix).
	ErrNoStore = errors.New("jetstore: no such bucket or stream")
)

// Mode says what opening a store does to its buckets and streams.
type Mode int

const (
	// Configure creates each bucket and stream, or updates its
	// configuration to these Options: what a node does when it starts.
	Configure Mode = iota
	// Attach uses the buckets and streams as they are and creates only a
	// missing one: for a tool beside running nodes whose settings (the
	// history cap, replicas) it does not know (wotmq import).
	Attach
	// Existing uses them as they are and creates none: a missing one is
	// ErrNoStore (wotmq export and reset-password of a running cluster: a
	// wrong --nats-url is refused rather than given new buckets).
	Existing
)

// Options configures the stores. JS is required.
type Options struct {
	// JS is the JetStream context of the node's NATS connection.
	JS jetstream.JetStream
	// Replicas is each bucket's and stream's replica count: 3 in a
	// 3-node cluster, 1 on a single node; 1 when zero.
	Replicas int
	// Prefix names the buckets and streams; "WOTMQ" when empty (tests
	// sharing one NATS use their own).
	Prefix string
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Retry is how long a write that failed for want of a leader (an
	// election after a node's loss, a connection moving to another node)
	// is tried again before the error is returned: the caller's
	// acknowledgement waits instead of failing. 0: not retried.
	Retry time.Duration
	// Log receives what an operator should hear (a watcher that stopped,
	// a record that does not decode); the zero Logger drops it.
	Log zerolog.Logger
	// Mode: what opening does to the buckets and streams; Configure when
	// zero.
	Mode Mode
	// ReadOnly opens the stores to read them beside running nodes without
	// writing anything (wotmq export): Mode is Existing, the inbox leaves
	// finished requests for the nodes to move on, Retained.All deletes no
	// expired message, and the token signing key is read, never made. The
	// caller calls only the stores' reads.
	ReadOnly bool
}

func (o Options) check() (Options, error) {
	if o.JS == nil {
		return o, fmt.Errorf("%w: no JetStream", ErrOptions)
	}
	if o.Replicas <= 0 {
		o.Replicas = 1
	}
	if o.Prefix == "" {
		o.Prefix = "WOTMQ"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.ReadOnly {
		o.Mode = Existing
	}
	return o, nil
}

// casAttempts bounds the compare-and-set retries of one write: each
// retry means another node wrote the same key in between, which the hub's
// per-agent ordering makes rare.
const casAttempts = 32

// enc encodes an ID or name as one NATS token.
func enc(s string) string {
	if s == "" {
		return "_"
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

func dec(tok string) (string, error) {
	if tok == "_" {
		return "", nil
	}
	b, err := base64.RawURLEncoding.DecodeString(tok)
	return string(b), err
}

// bucket creates (or opens) a KV bucket.
func bucket(ctx context.Context, o Options, name string) (jetstream.KeyValue, error) {
	return openBucket(ctx, o, name, jetstream.KeyValueConfig{
		Bucket: o.Prefix + "_" + name, Replicas: o.Replicas, Storage: jetstream.FileStorage, History: 1,
	})
}

// openBucket opens the bucket cfg describes as o.Mode says.
func openBucket(ctx context.Context, o Options, name string, cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	var err error
	if o.Mode == Configure {
		kv, err = o.JS.CreateOrUpdateKeyValue(ctx, cfg)
	} else {
		kv, err = o.JS.KeyValue(ctx, cfg.Bucket)
		if errors.Is(err, jetstream.ErrBucketNotFound) {
			if o.Mode == Existing {
				return nil, fmt.Errorf("%w: bucket %s", ErrNoStore, cfg.Bucket)
			}
			if kv, err = o.JS.CreateKeyValue(ctx, cfg); errors.Is(err, jetstream.ErrBucketExists) {
				kv, err = o.JS.KeyValue(ctx, cfg.Bucket) // a node made it meanwhile
			}
		}
	}
	if err != nil {
		return nil, fmt.Errorf("jetstore: bucket %s: %w", name, err)
	}
	return kv, nil
}

// openStream opens the stream cfg describes as o.Mode says.
func openStream(ctx context.Context, o Options, cfg jetstream.StreamConfig) (jetstream.Stream, error) {
	if o.Mode == Configure {
		return o.JS.CreateOrUpdateStream(ctx, cfg)
	}
	st, err := o.JS.Stream(ctx, cfg.Name)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		if o.Mode == Existing {
			return nil, fmt.Errorf("%w: stream %s", ErrNoStore, cfg.Name)
		}
		if st, err = o.JS.CreateStream(ctx, cfg); errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
			st, err = o.JS.Stream(ctx, cfg.Name) // a node made it meanwhile
		}
	}
	return st, err
}

// casLoop runs write until it does not fail with a wrong-last-sequence
// error (another writer got there first) or, for up to o.Retry, a
// transient one (each attempt reads again what it changes).
func casLoop(ctx context.Context, o Options, write func() error) error {
	conflicts := 0
	deadline := time.Now().Add(o.Retry)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := write()
		switch {
		case err == nil:
			return nil
		case isCASConflict(err):
			if conflicts++; conflicts >= casAttempts {
				return ErrConflict
			}
			continue
		case !transient(err) || ctx.Err() != nil || time.Now().After(deadline):
			return err
		}
		o.Log.Warn().Err(err).Msg("store write failed; trying again")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait): // back-off between attempts, not a wait for an event
		}
	}
}

// retry runs a write (not a compare-and-set) until it succeeds or fails
// for another reason than a transient one, for up to o.Retry.
func retry(ctx context.Context, o Options, write func() error) error {
	deadline := time.Now().Add(o.Retry)
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := write()
		if err == nil || !transient(err) || ctx.Err() != nil || time.Now().After(deadline) {
			return err
		}
		o.Log.Warn().Err(err).Msg("store write failed; trying again")
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait): // back-off between attempts, not a wait for an event
		}
	}
}

// errStaleRead is a read that missed a record this node knows exists: KV
// reads may be answered by a replica that has not applied the newest
// writes yet (JetStream's direct get), so the read is made again.
var errStaleRead = errors.New("jetstore: a replica answered with an older state")

// transient reports whether an error may pass by itself: JetStream had no
// leader to answer, the connection was moving to another server, or a
// replica was behind.
func transient(err error) bool {
	if errors.Is(err, errStaleRead) || errors.Is(err, errAsyncAckTimeout) || errors.Is(err, jetstream.ErrAsyncPublishTimeout) ||
		errors.Is(err, jetstream.ErrTooManyStalledMsgs) {
		return true
	}
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) {
		return apiErr.Code >= 500
	}
	return errors.Is(err, nats.ErrTimeout) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, jetstream.ErrNoHeartbeat)
}

func isCASConflict(err error) bool {
	var apiErr *jetstream.APIError
	if errors.As(err, &apiErr) && (apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence ||
		apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequenceConstant) {
		return true
	}
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// kvUpdate is a read-modify-write of one key by compare-and-set on its
// revision, retried while other writers interleave. change gets the
// current value (nil when the key is absent) and returns the next value,
// or del to delete the key, or skip to write nothing.
func kvUpdate(ctx context.Context, o Options, kv jetstream.KeyValue, key string,
	change func(cur []byte) (next []byte, del, skip bool, err error)) (uint64, error) {
	var rev uint64
	err := casLoop(ctx, o, func() error {
		var cur []byte
		var curRev uint64
		e, err := kv.Get(ctx, key)
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
		case err != nil:
			return err
		default:
			cur, curRev = e.Value(), e.Revision()
		}
		next, del, skip, err := change(cur)
		if err != nil || skip {
			rev = curRev
			return err
		}
		switch {
		case del && curRev == 0:
			return nil
		case del:
			return kv.Delete(ctx, key, jetstream.LastRevision(curRev))
		case curRev == 0:
			rev, err = kv.Create(ctx, key, next)
		default:
			rev, err = kv.Update(ctx, key, next, curRev)
		}
		return err
	})
	return rev, err
}
