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
	// waiting is set (under mu) when the writer blocks in Wait: only such
	// a writer can take the lead.
	waiting bool
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
	return c.Submit(fn).Wait()
}

// Pending is a write queued by Submit. Wait may be called once. A write
// nobody waits for holds up no other: it is committed with the next batch
// (or never, if no write follows it).
type Pending struct {
	c *Committer
	r *request
}

// Submit queues fn like Update but returns at once: the write is
// committed, together with the writes queued before and after it, by the
// first Wait that finds no commit under way. A caller that submits
// several writes before waiting for the first thus commits them in one
// transaction, in the order submitted. See the package documentation for
// what fn may do.
func (c *Committer) Submit(fn func(txn *badger.Txn) error) Pending {
	r := &request{fn: fn, wake: make(chan bool, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, r)
	c.mu.Unlock()
	return Pending{c: c, r: r}
}

// Wait returns once the write committed, with its function's error or
// the commit's.
func (p Pending) Wait() error {
	c, r := p.c, p.r
	c.mu.Lock()
	lead := false
	select {
	case lead = <-r.wake: // done (false), or handed the lead while not waiting (true)
		if !lead {
			c.mu.Unlock()
			return r.err
		}
	default:
		if !c.leading {
			c.leading, lead = true, true
		} else {
			r.waiting = true
		}
	}
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
		// The lead goes to a writer blocked in Wait: one that submitted
		// but is not waiting yet leads itself when it waits.
		c.mu.Lock()
		var next *request
		for _, q := range c.queue {
			if q.waiting {
				next = q
				break
			}
		}
		if next == nil {
			c.leading = false
			c.mu.Unlock()
			return r.err
		}
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
