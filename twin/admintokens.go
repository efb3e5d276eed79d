package twin

import (
	"context"
	"errors"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// AdminTokenRevoke is the admin operation that voids one token until it
// expires (authz.Store.Revoke): the connections and event streams opened
// with it end. Its argument is the token itself (Token); without one, the
// token the requester logged in with. Allowed to the token's own account
// and to admins.
const AdminTokenRevoke = "token.revoke"

// TokenRevokeReply answers AdminTokenRevoke: which token, whose, and until
// when the hub keeps its revocation (its expiry).
type TokenRevokeReply = authz.TokenInfo

func (c *Core) adminRevokeToken(ctx context.Context, id authz.Identity, req AdminRequest) (any, error) {
	var info authz.TokenInfo
	switch {
	case req.Token != "":
		var err error
		if info, err = c.authz.TokenOf(req.Token); err != nil {
			return nil, wire.Errorf(wire.CodeInvalidPayload, "token: not a token of this hub")
		}
	case id.Token != "":
		info = authz.TokenInfo{ID: id.Token, Account: id.ID, Expires: id.Expires}
	default:
		return nil, wire.Errorf(wire.CodeInvalidPayload, "token.revoke needs the token to revoke (\"token\"), unless you logged in with it")
	}
	if info.Account != id.ID || id.Anonymous {
		if !authz.Allowed(id.Role, authz.OpManageAccounts) {
			return nil, wire.Errorf(wire.CodeDenied, "only %q and admins may revoke that token", info.Account)
		}
	}
	if err := c.authz.Revoke(ctx, info); err != nil {
		if errors.Is(err, authz.ErrTooManyRevoked) {
			return nil, wire.Errorf(wire.CodeQuota, "%v", err)
		}
		return nil, err
	}
	return TokenRevokeReply(info), nil
}
