package authz

import (
	"sync"
	"time"
)

// ThrottleOptions limits failed logins. After Failures failed logins for
// an account, or from an address, within Window, further logins for it
// are refused for Backoff, doubling with every further lockout up to
// MaxBackoff. A successful login clears the account's and address's count.
type ThrottleOptions struct {
	Failures   int           // 5 when zero
	Window     time.Duration // 1 minute when zero
	Backoff    time.Duration // 10 seconds when zero
	MaxBackoff time.Duration // 5 minutes when zero
}

type throttle struct {
	opts ThrottleOptions
	now  func() time.Time

	mu      sync.Mutex
	entries map[string]*strikes
	sweep   time.Time
}

type strikes struct {
	count   int
	first   time.Time
	until   time.Time
	backoff time.Duration
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
	return &throttle{opts: o, now: now, entries: map[string]*strikes{}}
}

func keys(account, remote string) []string {
	k := []string{"a:" + account}
	if remote != "" {
		k = append(k, "r:"+remote)
	}
	return k
}

// check refuses a login while the account or address is locked out.
func (t *throttle) check(account, remote string) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys(account, remote) {
		if s := t.entries[k]; s != nil && now.Before(s.until) {
			return ErrThrottled
		}
	}
	return nil
}

func (t *throttle) fail(account, remote string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	for _, k := range keys(account, remote) {
		s := t.entries[k]
		if s == nil || now.Sub(s.first) > t.opts.Window && now.After(s.until) {
			b := time.Duration(0)
			if s != nil {
				b = s.backoff
			}
			s = &strikes{first: now, backoff: b}
			t.entries[k] = s
		}
		s.count++
		if s.count >= t.opts.Failures {
			if s.backoff == 0 {
				s.backoff = t.opts.Backoff
			} else {
				s.backoff = min(2*s.backoff, t.opts.MaxBackoff)
			}
			s.until = now.Add(s.backoff)
			s.count, s.first = 0, now
		}
	}
	if now.Sub(t.sweep) > t.opts.Window {
		t.sweep = now
		for k, s := range t.entries {
			if now.Sub(s.first) > t.opts.Window && now.After(s.until.Add(t.opts.MaxBackoff)) {
				delete(t.entries, k) // bounded memory under a spray of names
			}
		}
	}
}

func (t *throttle) ok(account, remote string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range keys(account, remote) {
		delete(t.entries, k)
	}
}
