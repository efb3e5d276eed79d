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
// follows it, and the steps run one at a time, in order, outside the lock:
// a step's commit is awaited, then what follows it runs. A step that waits
// for nothing, on an idle line, runs at once.
//
// Whoever stages a step awaits it (or a later one) once it released the
// lock. A caller whose step is next on an idle line runs it itself; else
// the line's goroutine runs the steps, so that a caller never runs the
// sends and statuses of others on its own (a Mochi reader, whose
// connection would wait: measured, docs/benchmarks.md).

// line is the ordered queue of one agent lock's steps. Its goroutine
// starts when a step waits behind another and lives until Close, so that a
// busy line does not pay for a goroutine (and its stack's growth) per
// burst.
type line struct {
	mu      sync.Mutex
	wake    sync.Cond // signalled when steps wait, a caller's step ran, or the line closes
	steps   []*step
	current *step // the step that runs now, on the goroutine or its caller
	started bool  // the goroutine runs
	closed  bool  // Close: the goroutine ends once the steps ran; a step staged on an idle line runs on its caller
}

// step is a staged commit and what follows it.
type step struct {
	line   *line
	commit inbox.Commit // nil: nothing to wait for
	then   func()       // run once commit returned nil; may be nil
	err    error        // commit's result, set before done closes
	done   chan struct{}
}

// stage appends a step for agent: commit, then then. The caller holds the
// agent's lock, and awaits the step (or a later one) once it released it.
// On an idle line a step with nothing to wait for runs at once, on the
// caller, as does any step once the core closed. The step returned is for
// await.
func (c *Core) stage(agent string, commit inbox.Commit, then func()) *step {
	l := &c.lines[c.slot(agent)]
	s := &step{line: l, commit: commit, then: then, done: make(chan struct{})}
	l.mu.Lock()
	if (commit == nil || l.closed) && len(l.steps) == 0 && l.current == nil {
		l.mu.Unlock()
		c.runStep(s)
		return s
	}
	l.steps = append(l.steps, s)
	l.mu.Unlock()
	return s
}

// wakeLocked has the line's goroutine run the steps queued, starting it
// when none runs. The caller holds l.mu. A goroutine started before Close
// is one Close waits for; one started after (a step staged before Close and
// awaited after it) ends as soon as the steps ran.
func (c *Core) wakeLocked(l *line) {
	if l.started {
		l.wake.Signal()
		return
	}
	l.started = true
	l.wake.L = &l.mu
	tracked := !l.closed
	if tracked {
		c.lineRunners.Add(1)
	}
	go c.run(l, tracked)
}

// run runs a line's steps in order while no caller runs one, waiting for
// more while there are none; once the core closed it ends when none is
// left.
func (c *Core) run(l *line, tracked bool) {
	if tracked {
		defer c.lineRunners.Done()
	}
	l.mu.Lock()
	for {
		for (len(l.steps) == 0 || l.current != nil) && !l.closed {
			l.wake.Wait()
		}
		for l.current != nil { // closed: a caller runs a step, and signals when it is done
			l.wake.Wait()
		}
		if len(l.steps) == 0 {
			l.started = false
			l.mu.Unlock()
			return // closed, and nothing left
		}
		c.runHeadLocked(l)
	}
}

// runHeadLocked runs the line's first step, on the caller; l.mu is held
// on entry and on return, released while the step runs.
func (c *Core) runHeadLocked(l *line) {
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

// closeLines ends the lines' goroutines once their steps ran, and runs the
// steps nobody awaited (a reply begun while the hub closed); from now on a
// step runs on the caller that stages it (Close).
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
	for i := range c.lines {
		l := &c.lines[i]
		l.mu.Lock()
		for len(l.steps) > 0 && l.current == nil && !l.started {
			c.runHeadLocked(l)
		}
		l.mu.Unlock()
	}
}

// await waits until step s ran and returns its commit's error (nil for no
// step). When s is the line's next step and none runs, the caller runs it
// itself: a lone request makes no hand-off to the line's goroutine (1.07x
// the round trips/s of one requester, interleaved, docs/benchmarks.md).
// Otherwise the line's goroutine runs the steps up to it. It may be called
// with or without the agent's lock held: neither takes it.
func (c *Core) await(s *step) error {
	if s == nil {
		return nil
	}
	l := s.line
	l.mu.Lock()
	if !s.ran() && l.current == nil && len(l.steps) > 0 && l.steps[0] == s {
		c.runHeadLocked(l)
		switch {
		case len(l.steps) > 0:
			c.wakeLocked(l)
		case l.started:
			l.wake.Signal() // a closing goroutine waits for the caller's step
		}
		l.mu.Unlock()
		return s.err
	}
	if !s.ran() {
		c.wakeLocked(l)
	}
	l.mu.Unlock()
	<-s.done
	return s.err
}

// ran reports whether the step ran.
func (s *step) ran() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

// unlock releases agent's lock mu, then waits until the steps the caller
// staged under it have run: for the locked sections that do not wait for
// their own steps. Waiting under the lock would hold up the agent's next
// decisions for the commits.
func (c *Core) unlock(agent string, mu *sync.Mutex) {
	t := c.tail(agent)
	mu.Unlock()
	_ = c.await(t)
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
