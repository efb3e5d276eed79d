package jetstore

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Writes issued together and awaited together. Each JetStream write waits
// for a Raft round trip between the replicas; issued one after the other,
// a batch of n writes costs n round trips, issued together about one (the
// stream's leader proposes what arrived meanwhile as one append). This is
// the cluster's group commit: what broker/pipeline.go gets from one Badger
// transaction for a connection's run of events, the stores get from
// publishing the run's writes without waiting and then awaiting every
// acknowledgement. Nothing is acknowledged to a client before its own
// writes' acknowledgements arrived, so the promise (an acknowledged write
// is on a quorum) is unchanged.

// asyncAckWait bounds the wait for one write's acknowledgement; past it
// the write counts as failed for want of a leader (transient) and is made
// again synchronously, which a message ID or a compare-and-set keeps from
// storing it twice. The hub's NATS connection also times its asynchronous
// publishes out (natsnode), so that lost acknowledgements do not pile up.
const asyncAckWait = 5 * time.Second

// errAsyncAckTimeout is an acknowledgement that did not come in time.
var errAsyncAckTimeout = errors.New("jetstore: no acknowledgement in time")

// issued is a write sent without waiting for its acknowledgement.
type issued struct {
	f   jetstream.PubAckFuture
	err error // the publish could not even be sent
}

// publishLater sends a message to a stream (or a KV bucket's subject)
// and returns at once.
func publishLater(o Options, subject string, data []byte, opts ...jetstream.PublishOpt) issued {
	f, err := o.JS.PublishAsync(subject, data, append(opts, noAsyncRetry)...)
	return issued{f: f, err: err}
}

// noAsyncRetry turns off nats.go's own retry of an asynchronous publish
// that found no stream leader (an election): it re-sends the message on a
// timer of its own, which can store it after messages issued behind it.
// The failure comes back instead, and the waits make the writes again in
// the order issued.
var noAsyncRetry = jetstream.WithRetryAttempts(0)

// putLater is kv.Put without the wait: a KV put is a publish on the
// bucket's subject for the key.
func putLater(o Options, kv jetstream.KeyValue, key string, value []byte) issued {
	return publishLater(o, "$KV."+kv.Bucket()+"."+key, value)
}

// wait returns once the write is acknowledged (nil) or failed.
func (w issued) wait(ctx context.Context) error {
	if w.err != nil {
		return w.err
	}
	if w.f == nil {
		return nil // nothing was issued
	}
	t := time.NewTimer(asyncAckWait)
	defer t.Stop()
	select {
	case <-w.f.Ok():
		return nil
	case err := <-w.f.Err():
		return err
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return errAsyncAckTimeout
	}
}

// parallel runs fns at once and returns the first error of any.
func parallel(fns ...func() error) error {
	switch len(fns) {
	case 0:
		return nil
	case 1:
		return fns[0]()
	}
	errs := make([]error, len(fns))
	var wg sync.WaitGroup
	for i, f := range fns[1:] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i+1] = f()
		}()
	}
	errs[0] = fns[0]()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// KV operations as the key-value protocol writes them: a delete or purge
// is a message with the operation in a header (nats.go's kv.Delete and
// kv.Purge send the same).
const (
	kvOpHeader = "KV-Operation"
	kvOpDelete = "DEL"
	kvOpPurge  = "PURGE"
)

// removeLater is kv.Delete (or kv.Purge, purge true) without the wait.
func removeLater(o Options, kv jetstream.KeyValue, key string, purge bool) issued {
	m := nats.NewMsg("$KV." + kv.Bucket() + "." + key)
	if purge {
		m.Header.Set(kvOpHeader, kvOpPurge)
		m.Header.Set(jetstream.MsgRollup, jetstream.MsgRollupSubject)
	} else {
		m.Header.Set(kvOpHeader, kvOpDelete)
	}
	f, err := o.JS.PublishMsgAsync(m, noAsyncRetry)
	return issued{f: f, err: err}
}
