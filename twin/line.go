package twin

import (
	"sync"

	"github.com/wotmq/wotmq/inbox"
)

// What the core lets out after a staged commit. The core decides on an
// agent's requests under the agent's lock, and the inbox's staged writes
// (inbox/stage.go) make each decision visible to the next at once; the
// commit itself is awaited after the lock is released, so the requests of
// many consumers of one agent, and the agent's answers, share commits
// instead of running one commit at a time (issue 15). What depends on a
// change (its status to the consumer, the request to the agent) must still
// follow its commit, and in the order the changes were made: the agent gets
// its requests in order, a consumer its statuses. A line per lock keeps that
// order: each locked section appends its staged commits, each with what
// follows it, and the line's goroutine awaits each commit and then runs
// what follows it, outside the lock. A step that waits for nothing, on an
// idle line, runs at once.
//
// Whoever stages a step waits for it (await) before it returns, so no step
// outlives the call that made it (Close waits for those calls).

// line is the ordered queue of one agent lock's steps. Its goroutine
// starts with the first step staged and lives until Close, so that a busy
// line does not pay for a goroutine (and its stack's growth) per burst.
type line struct {
	mu      sync.Mutex
	wake    sync.Cond // signalled when a step is staged or the line closes
	steps   []*step
	current *step // the step the goroutine runs now
	started bool  // the goroutine runs
	closed  bool  // Close: the goroutine ends once the steps ran; new steps run on their caller
}

// step is a staged commit and what follows it.
type step struct {
	commit inbox.Commit // nil: nothing to wait for
	then   func()       // run once commit returned nil; may be nil
	err    error        // commit's result, set before done closes
	done   chan struct{}
}

// stage appends a step for agent: commit, then then. The caller holds the
// agent's lock. On an idle line a step with nothing to wait for runs at
// once, on the caller, as does every step once the core closed. The step
// returned is for await.
func (c *Core) stage(agent string, commit inbox.Commit, then func()) *step {
	l := &c.lines[c.slot(agent)]
	s := &step{commit: commit, then: then, done: make(chan struct{})}
	l.mu.Lock()
	if l.closed || (commit == nil && len(l.steps) == 0 && l.current == nil) {
		l.mu.Unlock()
		c.runStep(s)
		return s
	}
	l.steps = append(l.steps, s)
	if !l.started {
		l.started = true
		l.wake.L = &l.mu
		c.lineRunners.Add(1)
		go c.run(l)
	} else {
		l.wake.Signal()
	}
	l.mu.Unlock()
	return s
}

// run runs a line's steps in order, waiting for more while there are
// none, until the line closes.
func (c *Core) run(l *line) {
	defer c.lineRunners.Done()
	l.mu.Lock()
	for {
		for len(l.steps) == 0 && !l.closed {
			l.wake.Wait()
		}
		if len(l.steps) == 0 {
			l.mu.Unlock()
			return
		}
		s := l.steps[0]
		l.steps[0] = nil
		l.steps = l.steps[1:]
		if len(l.steps) == 0 {
			l.steps = nil // let the backing array go
		}
		l.current = s
		l.mu.Unlock()
		c.runStep(s)
		l.mu.Lock()
		l.current = nil
	}
}

// runStep awaits a step's commit, then runs what follows it.
func (c *Core) runStep(s *step) {
	if s.commit != nil {
		s.err = s.commit()
	}
	switch {
	case s.err != nil:
		c.log.Error().Err(s.err).Msg("cannot store a request's change; its status and delivery wait for the next change")
	case s.then != nil:
		s.then()
	}
	close(s.done)
}

// closeLines ends the lines' goroutines once their steps ran (Close).
func (c *Core) closeLines() {
	for i := range c.lines {
		l := &c.lines[i]
		l.mu.Lock()
		l.closed = true
		if l.started {
			l.wake.Signal()
		}
		l.mu.Unlock()
	}
	c.lineRunners.Wait()
}

// await waits until step s ran and returns its commit's error (nil for no
// step). It may be called with or without the agent's lock held: the
// line's goroutine never takes it.
func (s *step) await() error {
	if s == nil {
		return nil
	}
	<-s.done
	return s.err
}

// unlock releases agent's lock mu, then waits until the steps the caller
// staged under it have run: for the locked sections that do not wait for
// their own steps. Waiting under the lock would hold up the agent's next
// decisions for the commits.
func (c *Core) unlock(agent string, mu *sync.Mutex) {
	t := c.tail(agent)
	mu.Unlock()
	_ = t.await()
}

// tail is the last step on agent's line, nil when none waits or runs. Under
// the agent's lock it is the last step the caller staged, or one before it.
func (c *Core) tail(agent string) *step {
	l := &c.lines[c.slot(agent)]
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.steps); n > 0 {
		return l.steps[n-1]
	}
	return l.current
}
