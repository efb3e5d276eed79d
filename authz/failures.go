package authz

import (
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// Reason says why a login failed: the label of the metric
// wotmq_login_failures_total and the reason of the log line. It is for the
// operator: the client is told only "bad user name or password" for both
// an unknown account and a wrong password.
type Reason string

// The reasons a login fails. Reasons are only ever appended (dashboards
// and alerts name them).
const (
	ReasonUnknownAccount Reason = "unknown_account" // a password login for a name that is no account
	ReasonBadPassword    Reason = "bad_password"    // a wrong (or empty) password for an account
	ReasonDisabled       Reason = "disabled"        // the right password or a valid token of a disabled account
	ReasonThrottled      Reason = "throttled"       // refused unchecked: the (account, address) pair is locked
	ReasonBadToken       Reason = "bad_token"       // a token that is malformed, forged, revoked or of a deleted account
	ReasonExpiredToken   Reason = "expired_token"   // a token past its expiry
	// The transports decide these themselves and report them with Refuse.
	ReasonWrongAccount       Reason = "wrong_account"       // a valid token sent with the user name of another account
	ReasonUnknownCertificate Reason = "unknown_certificate" // a verified client certificate whose common name is no account
)

var reasons = [...]Reason{ReasonUnknownAccount, ReasonBadPassword, ReasonDisabled, ReasonThrottled, ReasonBadToken, ReasonExpiredToken,
	ReasonWrongAccount, ReasonUnknownCertificate}

// Reasons lists every Reason, in a fixed order.
func Reasons() []Reason { return append([]Reason(nil), reasons[:]...) }

// ReasonOf is the reason of an error of Login, VerifyToken or Refuse; ""
// for an error that is no failed login (a context ending while a login
// waited its turn) or a bare ErrBadCredentials.
func ReasonOf(err error) Reason {
	var f *loginFailure
	switch {
	case errors.As(err, &f):
		return f.reason
	case errors.Is(err, ErrThrottled):
		return ReasonThrottled
	case errors.Is(err, ErrDisabled):
		return ReasonDisabled
	case errors.Is(err, ErrTokenExpired):
		return ReasonExpiredToken
	case errors.Is(err, ErrBadToken):
		return ReasonBadToken
	}
	return ""
}

// Refuse counts a failed login that a transport decided itself (a token
// for another account's user name, a certificate of no account or of a
// disabled one) and returns its error: ErrDisabled for ReasonDisabled,
// else one that is ErrBadCredentials.
func (s *Store) Refuse(r Reason) error {
	if r == ReasonDisabled {
		return s.fail(ErrDisabled)
	}
	return s.fail(&loginFailure{r})
}

// loginFailure is ErrBadCredentials with the reason the client is not
// told (unknown account or wrong password).
type loginFailure struct{ reason Reason }

func (f *loginFailure) Error() string { return ErrBadCredentials.Error() }
func (f *loginFailure) Unwrap() error { return ErrBadCredentials }

// failures counts failed logins by reason.
type failures [len(reasons)]atomic.Uint64

func (f *failures) add(r Reason) {
	for i, x := range reasons {
		if x == r {
			f[i].Add(1)
			return
		}
	}
}

// fail counts a failed login of err's reason and returns err.
func (s *Store) fail(err error) error {
	if r := ReasonOf(err); r != "" {
		s.failures.add(r)
	}
	return err
}

// LoginFailures is the number of failed logins since the store opened, by
// reason (every reason present, 0 included): password logins (Login),
// tokens (VerifyToken) and what the transports Refuse.
func (s *Store) LoginFailures() map[Reason]uint64 {
	out := make(map[Reason]uint64, len(reasons))
	for i, r := range reasons {
		out[r] = s.failures[i].Load()
	}
	return out
}

// Thinning the log of failed logins: a password guesser makes thousands a
// minute, and one line each would fill the disk and bury everything else.
const (
	// failureLogInterval is how often one (account, address) pair gets a
	// line.
	failureLogInterval = time.Minute
	// failureLogLines is the most lines all pairs together get in one
	// interval (a spray of names or addresses).
	failureLogLines = 100
)

// failureLog decides which failed logins get a log line: the first of an
// (account, address) pair, then at most one a minute for that pair, and no
// more than failureLogLines a minute in all. What it leaves out it counts,
// and the next line that is written carries the counts.
type failureLog struct {
	mu      sync.Mutex
	pairs   map[string]*pairLog
	window  time.Time // start of the current interval of the overall cap
	lines   int       // lines written in it
	dropped int       // failures left out by the overall cap, not yet reported
	sweep   time.Time
}

type pairLog struct {
	last   time.Time // when its last line was written
	missed int       // its failures left out since
}

// LogFailure reports whether a failed login of account from remote should
// be logged now, and if so how many failures of the same pair were left
// out since its last line (repeated) and how many of other pairs the
// overall cap left out (others). A caller that gets log false writes
// nothing: the counts come with a later line, and every failure is in
// wotmq_login_failures_total anyway. Safe for concurrent use.
func (s *Store) LogFailure(account, remote string) (log bool, repeated, others int) {
	return s.failLog.admit(s.now(), account, remote)
}

func (l *failureLog) admit(now time.Time, account, remote string) (bool, int, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pairs == nil {
		l.pairs = map[string]*pairLog{}
	}
	if now.Sub(l.window) >= failureLogInterval {
		l.window, l.lines = now, 0
	}
	if now.Sub(l.sweep) >= failureLogInterval {
		l.sweep = now
		for k, p := range l.pairs {
			if age := now.Sub(p.last); age >= failureLogInterval && (p.missed == 0 || age >= 10*failureLogInterval) {
				delete(l.pairs, k) // a pair gets an entry only with a line: at most failureLogLines a minute
			}
		}
	}
	key := pairKey(account, remote)
	p := l.pairs[key]
	if p != nil && now.Sub(p.last) < failureLogInterval {
		p.missed++
		return false, 0, 0
	}
	if l.lines >= failureLogLines {
		l.dropped++
		return false, 0, 0
	}
	if p == nil {
		p = &pairLog{}
		l.pairs[key] = p
	}
	repeated, others := p.missed, l.dropped
	p.last, p.missed = now, 0
	l.lines++
	l.dropped = 0
	return true, repeated, others
}
