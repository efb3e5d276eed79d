package twin

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/wire"
)

// AdminRequest is the payload of a request on wotmq/admin. Op names the
// operation; the other fields are its arguments. See docs/security.md.
type AdminRequest struct {
	Op       string   `json:"op"`
	ID       string   `json:"id,omitempty"`       // account
	Role     string   `json:"role,omitempty"`     // account role
	Name     *string  `json:"name,omitempty"`     // account display name
	Enabled  *bool    `json:"enabled,omitempty"`  // account enabled
	Password *string  `json:"password,omitempty"` // account password
	Current  *string  `json:"current,omitempty"`  // the current password, to change one's own
	TTL      string   `json:"ttl,omitempty"`      // token lifetime, e.g. "24h"
	Thing    string   `json:"thing,omitempty"`    // Thing ID
	Agent    string   `json:"agent,omitempty"`    // new owner
	Allow    []string `json:"allow,omitempty"`    // Thing access list
	Deny     []string `json:"deny,omitempty"`
	File     string   `json:"file,omitempty"` // backup file name
	// Rule is the access rule of free topics for acl.add (its ID is made
	// up); ID names the rule for acl.remove.
	Rule *authz.TopicRule `json:"rule,omitempty"`
}

// Admin operations.
const (
	AdminAccountsList   = "accounts.list"
	AdminAccountsAdd    = "accounts.add"
	AdminAccountsUpdate = "accounts.update"
	AdminToken          = "token"
	AdminThingsDelete   = "things.delete"
	AdminThingsReassign = "things.reassign"
	AdminThingsACL      = "things.acl"
)

// TokenReply answers AdminToken.
type TokenReply struct {
	Token   string    `json:"token"`
	Expires time.Time `json:"expires"`
}

// AccountReply answers AdminAccountsAdd; Password is set when the hub made
// one up.
type AccountReply struct {
	authz.Account
	Password string `json:"password,omitempty"`
}

// admin handles a request on wotmq/admin: it answers on the ResponseTopic
// (status completed with the result, or failed with the error) and
// returns the error for the PUBACK.
func (c *Core) admin(ctx context.Context, id authz.Identity, pk *Message) error {
	replyTo := pk.ResponseTopic
	if replyTo == "" {
		return wire.Errorf(wire.CodeInvalidPayload, "an admin request needs a ResponseTopic to answer on")
	}
	if err := authz.ReplyTopicFor(id, replyTo); err != nil {
		return err
	}
	var req AdminRequest
	if err := json.Unmarshal(pk.Payload, &req); err != nil {
		return c.answer(replyTo, pk.CorrelationData, nil, wire.Errorf(wire.CodeInvalidPayload, "admin request: %v", err))
	}
	out, err := c.adminDo(ctx, id, req)
	if err == nil {
		c.log.Info().Str("account", id.ID).Str("op", req.Op).Str("id", req.ID).Str("thing", req.Thing).Msg("admin request")
	}
	return c.answer(replyTo, pk.CorrelationData, out, err)
}

// Admin performs an admin request for id as a request on wotmq/admin
// would (the same permission checks and results), for the parts of the
// hub that are not MQTT: the explorer's sign-in and account pages.
func (c *Core) Admin(ctx context.Context, id authz.Identity, req AdminRequest) (any, error) {
	out, err := c.adminDo(ctx, id, req)
	if err == nil && !strings.HasSuffix(req.Op, ".list") { // changes, not reads
		c.log.Info().Str("account", id.ID).Str("op", req.Op).Str("id", req.ID).Str("thing", req.Thing).Msg("admin request")
	}
	return out, err
}

// answer replies to a query or command on the client's ResponseTopic:
// status completed with out as JSON, or failed with the error (code and
// message as user properties and payload). It returns err, for the PUBACK.
func (c *Core) answer(replyTo string, corr []byte, out any, err error) error {
	user := []Property{{Key: wire.PropStatus, Value: string(wire.StatusCompleted)}}
	var body []byte
	if err != nil {
		we := AsWire(err)
		user = []Property{{Key: wire.PropStatus, Value: string(wire.StatusFailed)},
			{Key: wire.PropError, Value: string(we.Code)}, {Key: wire.PropMessage, Value: we.Message}}
		body, _ = json.Marshal(we)
	} else {
		body, _ = json.Marshal(out)
	}
	user = append(user, Property{Key: wire.PropTime, Value: c.opts.Now().UTC().Format(time.RFC3339Nano)})
	c.send(Message{
		QoS:             1,
		Topic:           replyTo,
		Payload:         body,
		CorrelationData: corr,
		User:            user,
	})
	return err
}

func (c *Core) adminDo(ctx context.Context, id authz.Identity, req AdminRequest) (any, error) {
	need := func(op authz.Op) error {
		if !authz.Allowed(id.Role, op) {
			return wire.Errorf(wire.CodeDenied, "role %s may not %s", id.Role, op)
		}
		return nil
	}
	switch req.Op {
	case AdminAccountsList:
		if err := need(authz.OpManageAccounts); err != nil {
			return nil, err
		}
		return c.authz.List(), nil
	case AdminAccountsAdd:
		if err := need(authz.OpManageAccounts); err != nil {
			return nil, err
		}
		role, err := authz.ParseRole(req.Role)
		if err != nil {
			return nil, wire.Errorf(wire.CodeInvalidPayload, "%v", err)
		}
		out := AccountReply{}
		pw := ""
		if req.Password != nil {
			pw = *req.Password
		} else {
			pw = authz.NewPassword()
			out.Password = pw
		}
		name := ""
		if req.Name != nil {
			name = *req.Name
		}
		if err := c.authz.Add(ctx, req.ID, role, name, pw); err != nil {
			return nil, accountErr(err)
		}
		out.Account, _ = c.authz.Get(req.ID)
		return out, nil
	case AdminAccountsUpdate:
		self := req.ID == "" || req.ID == id.ID
		if req.ID == "" {
			req.ID = id.ID
		}
		// Anyone with an account may change their own password; the rest
		// is for admins.
		if !(self && req.Role == "" && req.Enabled == nil && req.Name == nil && !id.Anonymous) {
			if err := need(authz.OpManageAccounts); err != nil {
				return nil, err
			}
		}
		if req.Password != nil && self {
			if err := c.proveCurrent(ctx, id, req.Current); err != nil {
				return nil, err
			}
		}
		var role *authz.Role
		if req.Role != "" {
			r, err := authz.ParseRole(req.Role)
			if err != nil {
				return nil, wire.Errorf(wire.CodeInvalidPayload, "%v", err)
			}
			role = &r
		}
		// A change of role, password or enabled state ends what the account
		// has open (accountChanged, revoke.go).
		if err := c.authz.Update(ctx, req.ID, role, req.Name, req.Enabled, req.Password); err != nil {
			return nil, accountErr(err)
		}
		a, _ := c.authz.Get(req.ID)
		return a, nil
	case AdminToken:
		if req.ID == "" {
			req.ID = id.ID
		}
		if req.ID != id.ID || id.Anonymous {
			if err := need(authz.OpManageAccounts); err != nil {
				return nil, err
			}
		}
		var ttl time.Duration
		if req.TTL != "" {
			d, err := time.ParseDuration(req.TTL)
			if err != nil || d <= 0 {
				return nil, wire.Errorf(wire.CodeInvalidPayload, "ttl %q: want a duration such as 24h", req.TTL)
			}
			if d > authz.MaxTokenTTL { // found by FuzzAdminRequest: was an internal error
				return nil, wire.Errorf(wire.CodeInvalidPayload, "ttl %q: at most %s", req.TTL, authz.MaxTokenTTL)
			}
			ttl = d
		}
		ttl, err := tokenLifetime(id, ttl, c.opts.Now())
		if err != nil {
			return nil, err
		}
		tok, exp, err := c.authz.IssueToken(req.ID, ttl)
		if err != nil {
			return nil, accountErr(err)
		}
		return TokenReply{Token: tok, Expires: exp}, nil
	case AdminThingsDelete, AdminThingsReassign, AdminThingsACL:
		if err := need(authz.OpManageThings); err != nil {
			return nil, err
		}
		return c.adminThings(ctx, req)
	case AdminBackup:
		return c.adminBackup(ctx, id, req.File)
	case AdminRulesList, AdminRulesAdd, AdminRulesRemove:
		if err := need(authz.OpManageAccounts); err != nil {
			return nil, err
		}
		return c.adminRules(ctx, req)
	}
	return nil, wire.Errorf(wire.CodeInvalidPayload, "unknown admin op %q", req.Op)
}

func (c *Core) adminThings(ctx context.Context, req AdminRequest) (any, error) {
	e, ok := c.dir.Get(req.Thing)
	if !ok {
		return nil, wire.Errorf(wire.CodeUnknownThing, "no Thing %q", req.Thing)
	}
	switch req.Op {
	case AdminThingsDelete:
		return map[string]string{"deleted": req.Thing}, c.DeleteThing(ctx, authz.Identity{ID: e.AgentID}, req.Thing)
	case AdminThingsReassign:
		if err := wire.ValidateID(req.Agent); err != nil {
			return nil, err
		}
		c.failThingRequests(ctx, e.AgentID, req.Thing)
		if _, err := c.dir.Reassign(ctx, req.Thing, req.Agent); err != nil {
			if errors.Is(err, directory.ErrNotFound) {
				return nil, wire.Errorf(wire.CodeUnknownThing, "no Thing %q", req.Thing)
			}
			return nil, err
		}
		return map[string]string{"thing": req.Thing, "agent": req.Agent}, nil
	}
	acl := authz.ThingACL{Allow: req.Allow, Deny: req.Deny}
	return acl, c.authz.SetThingACL(ctx, req.Thing, acl)
}

func accountErr(err error) error {
	switch {
	case errors.Is(err, authz.ErrNoAccount):
		return wire.Errorf(wire.CodeUnknownAccount, "%v", err)
	case errors.Is(err, authz.ErrExists), errors.Is(err, authz.ErrWeakPassword), errors.Is(err, authz.ErrBadID), errors.Is(err, authz.ErrBadRole):
		return wire.Errorf(wire.CodeInvalidPayload, "%v", err)
	case errors.Is(err, authz.ErrDisabled):
		return wire.Errorf(wire.CodeDenied, "%v", err)
	}
	return err
}

// proveCurrent checks the current password that an account's change of
// its own password must give: a token (or a session left open) must not be
// enough to take the account over. The check is throttled like a login
// from the client's address.
func (c *Core) proveCurrent(ctx context.Context, id authz.Identity, current *string) error {
	if current == nil {
		return wire.Errorf(wire.CodeDenied, "changing your own password needs the current one (field \"current\")")
	}
	if _, err := c.authz.Login(ctx, id.ID, *current, id.Remote); err != nil {
		if errors.Is(err, authz.ErrThrottled) {
			return wire.Errorf(wire.CodeQuota, "too many failed logins; try again later")
		}
		return wire.Errorf(wire.CodeDenied, "the current password is wrong")
	}
	return nil
}

// tokenLifetime bounds the lifetime of a token asked for by a client that
// logged in with a token: the new token never outlives that one, so that a
// short-lived token cannot be turned into a long-lived one. Without a
// lifetime asked for it gets what is left of its own (at most the
// default); asking for more is refused. A password or certificate login
// may ask for up to authz.MaxTokenTTL.
func tokenLifetime(id authz.Identity, ttl time.Duration, now time.Time) (time.Duration, error) {
	if id.Expires.IsZero() {
		return ttl, nil
	}
	left := id.Expires.Sub(now)
	switch {
	case left <= 0:
		return 0, wire.Errorf(wire.CodeDenied, "the token this connection logged in with has expired; log in again")
	case ttl == 0:
		return min(authz.DefaultTokenTTL, left), nil
	case ttl > left:
		return 0, wire.Errorf(wire.CodeDenied, "a token made with a token cannot outlive it (yours expires at %s); log in with the password for a longer one",
			id.Expires.UTC().Format(time.RFC3339))
	}
	return ttl, nil
}

// AdminBackup is the admin operation that writes an online backup of the
// store to a file in the hub's backup directory (admin only: a backup
// holds password hashes and the token key).
const AdminBackup = "backup"

// BackupReply answers AdminBackup.
type BackupReply struct {
	// File is the backup's path on the hub's host.
	File string `json:"file"`
	// Bytes is the backup's size.
	Bytes int64 `json:"bytes"`
	// Version is the store version the backup holds everything up to.
	Version uint64 `json:"version"`
	// Took is how long the backup took, e.g. "1.2s".
	Took string `json:"took"`
}

// adminBackup runs AdminBackup for an identity, through Options.Backup
// (the composition root owns the store).
func (c *Core) adminBackup(ctx context.Context, id authz.Identity, file string) (any, error) {
	if !authz.Allowed(id.Role, authz.OpManageAccounts) {
		return nil, wire.Errorf(wire.CodeDenied, "role %s may not back up the hub", id.Role)
	}
	if c.opts.Backup == nil {
		return nil, wire.Errorf(wire.CodeInternal, "this hub takes no backups")
	}
	return c.opts.Backup(ctx, file)
}
