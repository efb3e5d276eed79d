package authz

import "errors"

// Errors returned by the package.
var (
	ErrBadRole        = errors.New("authz: unknown role")
	ErrExists         = errors.New("authz: account exists")
	ErrNoAccount      = errors.New("authz: no such account")
	ErrBadCredentials = errors.New("authz: bad user name or password")
	ErrDisabled       = errors.New("authz: account disabled")
	ErrBadToken       = errors.New("authz: invalid token")
	ErrTokenExpired   = errors.New("authz: token expired")
	ErrThrottled      = errors.New("authz: too many failed logins; try again later")
	ErrWeakPassword   = errors.New("authz: password too short (12 characters at least)")
	ErrBadID          = errors.New("authz: bad account ID")
	ErrBadRule        = errors.New("authz: bad access rule")
	ErrNoRule         = errors.New("authz: no such access rule")
	ErrTooManyRules   = errors.New("authz: too many access rules")
)
