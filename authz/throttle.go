package authz

import (
	"context"
	"sync"
	"time"
)

// ThrottleOptions limits password guessing without handing guessers a way
// to lock other people out (docs/security.md, "Login throttle"):
//
//   - Failures failed logins for one account name from one address within
//     Window lock that pair: further password logins for that name from
//     that address are refused for Backoff, doubling with every further
//     lockout up to MaxBackoff. The account stays open from every other
//     address, and other names stay open from this one. Unknown names are
//     counted exactly like existing ones.
//   - AddressFailures failed logins from one address within Window, for any
//     names (a spray of names or of one password over many accounts), slow
//     the address down: its password logins then wait their turn, one at a
//     time, and Delay each, before they are checked. They are never refused
//     for it: a correct password from a shared address still gets in.
//
// Tokens and client certificates are never throttled: guessing them is
// hopeless. A successful login clears its pair.
type ThrottleOptions struct {
	Failures        int           // 5 when zero
	Window          time.Duration // 1 minute when zero
	Backoff         time.Duration // 10 seconds when zero
	MaxBackoff      time.Duration // 5 minutes when zero
	AddressFailures int           // 20 when zero
	Delay           time.Duration // 1 second when zero
}

type throttle struct {
	opts ThrottleOptions
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]*strikes
	sweep   time.Time
}

// strikes counts the failures of a key: an (account, address) pair, or an
// address alone.
type strikes struct {
	count   int
	first   time.Time
	until   time.Time     // a pair is locked until then
	backoff time.Duration // the pair's last lockout
	turn    chan struct{} // an address's pace: one login at a time
}

func newThrottle(o ThrottleOptions, now func() time.Time) *throttle {
	if o.Failures <= 0 {
		o.Failures = 5
	}
	if o.Window <= 0 {
		o.Window = time.Minute
	}
	if o.Backoff <= 0 {
		o.Backoff = 10 * time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 5 * time.Minute
	}
	if o.AddressFailures <= 0 {
		o.AddressFailures = 20
	}
	if o.Delay <= 0 {
		o.Delay = time.Second
	}
	return &throttle{opts: o, now: now, entries: map[string]*strikes{}}
}

func pairKey(account, remote string) string { return "p:" + account + "\x00" + remote }
func addressKey(remote string) string       { return "r:" + remote }

// check refuses a login while its (account, address) pair is locked.
func (t *throttle) check(account, remote string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if s := t.entries[pairKey(account, remote)]; s != nil && t.now().Before(s.until) {
		return ErrThrottled
	}
	return nil
}

// pace makes a login from an address that failed AddressFailures times
// within the window wait its turn and then Delay; the caller calls release
// once its password check is done. Only ctx ending refuses.
func (t *throttle) pace(ctx context.Context, remote string) (release func(), err error) {
	t.mu.Lock()
	s := t.entries[addressKey(remote)]
	if remote == "" || s == nil || s.count < t.opts.AddressFailures || t.now().Sub(s.first) > t.opts.Window {
		t.mu.Unlock()
		return func() {}, nil
	}
	if s.turn == nil {
		s.turn = make(chan struct{}, 1)
	}
	turn := s.turn
	t.mu.Unlock()
	select {
	case turn <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	timer := time.NewTimer(t.opts.Delay)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
		<-turn
		return nil, ctx.Err()
	}
	return func() { <-turn }, nil
}

// fail counts a failed login against its pair and its address.
func (t *throttle) fail(account, remote string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	pk := pairKey(account, remote)
	p := t.entries[pk]
	if p == nil || now.Sub(p.first) > t.opts.Window && now.After(p.until) {
		b := time.Duration(0)
		if p != nil {
			b = p.backoff
		}
		p = &strikes{first: now, backoff: b}
		t.entries[pk] = p
	}
	p.count++
	if p.count >= t.opts.Failures {
		if p.backoff == 0 {
			p.backoff = t.opts.Backoff
		} else {
			p.backoff = min(2*p.backoff, t.opts.MaxBackoff)
		}
		p.until = now.Add(p.backoff)
		p.count, p.first = 0, now
	}
	if remote != "" {
		ak := addressKey(remote)
		a := t.entries[ak]
		if a == nil {
			a = &strikes{first: now}
			t.entries[ak] = a
		} else if now.Sub(a.first) > t.opts.Window {
			a.count, a.first = 0, now // keeps its turn: someone may hold it
		}
		a.count++
	}
	if now.Sub(t.sweep) > t.opts.Window {
		t.sweep = now
		for k, s := range t.entries {
			if now.Sub(s.first) > t.opts.Window && now.After(s.until.Add(t.opts.MaxBackoff)) && len(s.turn) == 0 {
				delete(t.entries, k) // bounded memory under a spray of names
			}
		}
	}
}

// ok clears the pair of a successful login. The address's count stays:
// one good login from a shared address does not excuse a sprayer there.
func (t *throttle) ok(account, remote string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.entries, pairKey(account, remote))
}
