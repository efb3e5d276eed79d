package groupcommit

import (
	"errors"
	"sync"

	"github.com/dgraph-io/badger/v4"
)

// DefaultMaxBatch is how many writes share a transaction at most. A batch
// too big for one Badger transaction is split.
const DefaultMaxBatch = 1024

// Committer commits the writes of concurrent Update calls together. The
// zero value is not usable; call New.
type Committer struct {
	db  *badger.DB
	max int

	mu      sync.Mutex
	queue   []*request
	leading bool // a goroutine is committing batches
}

// request is one write waiting to be committed. wake receives true when its
// caller becomes the leader, false when the write is done (err is set).
type request struct {
	fn   func(*badger.Txn) error
	err  error
	wake chan bool
}

// New returns a Committer on db that puts at most maxBatch writes in a
// transaction (DefaultMaxBatch when maxBatch <= 0).
func New(db *badger.DB, maxBatch int) *Committer {
	if maxBatch <= 0 {
		maxBatch = DefaultMaxBatch
	}
	return &Committer{db: db, max: maxBatch}
}

// Update runs fn in a read-write transaction, possibly shared with the
// writes of other concurrent Update calls, and returns once that
// transaction committed, with fn's error or the commit's. See the package
// documentation for what fn may do.
func (c *Committer) Update(fn func(txn *badger.Txn) error) error {
	r := &request{fn: fn, wake: make(chan bool, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, r)
	lead := !c.leading
	c.leading = true
	c.mu.Unlock()
	if !lead && !<-r.wake {
		return r.err // another leader committed it
	}
	// The leader commits batches, oldest writes first, until its own is
	// done; then it hands the lead to the oldest waiting writer, so that no
	// caller commits for others for long.
	for {
		c.mu.Lock()
		n := min(len(c.queue), c.max)
		batch := make([]*request, n)
		copy(batch, c.queue)
		c.queue = c.queue[n:]
		if len(c.queue) == 0 {
			c.queue = nil // let the backing array go
		}
		c.mu.Unlock()

		c.commit(batch)
		mine := false
		for _, b := range batch {
			if b == r {
				mine = true
			} else {
				b.wake <- false
			}
		}
		if !mine {
			continue
		}
		c.mu.Lock()
		if len(c.queue) == 0 {
			c.leading = false
			c.mu.Unlock()
			return r.err
		}
		next := c.queue[0]
		c.mu.Unlock()
		next.wake <- true
		return r.err
	}
}

// commit writes a batch in one transaction and sets each request's error.
// A batch too big for one transaction is split in halves. When a write
// function fails or the transaction cannot commit, every write of the
// batch is committed again alone, so that a failure is only reported to
// the write that caused it.
func (c *Committer) commit(batch []*request) {
	if len(batch) == 1 {
		batch[0].err = c.db.Update(batch[0].fn)
		return
	}
	txn := c.db.NewTransaction(true)
	err := func() error {
		for _, r := range batch {
			if err := r.fn(txn); err != nil {
				return err
			}
		}
		return txn.Commit()
	}()
	txn.Discard()
	switch {
	case err == nil:
		for _, r := range batch {
			r.err = nil
		}
	case errors.Is(err, badger.ErrTxnTooBig):
		c.commit(batch[:len(batch)/2])
		c.commit(batch[len(batch)/2:])
	default:
		for _, r := range batch {
			r.err = c.db.Update(r.fn)
		}
	}
}
