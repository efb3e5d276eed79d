package twin

import (
	"context"
	"errors"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/wire"
)

// Admin operations on the access rules of free topics (docs/security.md,
// "Free topics and access rules"); admins only. A change applies to live
// connections at once: every publish and delivery on a free topic is
// decided with the rules of its moment.
const (
	AdminRulesList   = "acl.list"   // the rules, by ID
	AdminRulesAdd    = "acl.add"    // Rule: who, filter, publish/subscribe, deny; answers the rule with its ID
	AdminRulesRemove = "acl.remove" // ID: the rule to remove
)

func (c *Core) adminRules(ctx context.Context, req AdminRequest) (any, error) {
	switch req.Op {
	case AdminRulesList:
		return c.authz.TopicRules(), nil
	case AdminRulesAdd:
		if req.Rule == nil {
			return nil, wire.Errorf(wire.CodeInvalidPayload, "acl.add needs a rule")
		}
		r, err := c.authz.AddTopicRule(ctx, *req.Rule)
		if err != nil {
			return nil, ruleErr(err)
		}
		c.log.Info().Str("rule", r.ID).Str("who", r.Who).Str("filter", r.Filter).Bool("publish", r.Publish).
			Bool("subscribe", r.Subscribe).Bool("deny", r.Deny).Msg("access rule added")
		return r, nil
	}
	if err := c.authz.RemoveTopicRule(ctx, req.ID); err != nil {
		return nil, ruleErr(err)
	}
	c.log.Info().Str("rule", req.ID).Msg("access rule removed")
	return map[string]string{"removed": req.ID}, nil
}

func ruleErr(err error) error {
	switch {
	case errors.Is(err, authz.ErrBadRule):
		return wire.Errorf(wire.CodeInvalidPayload, "%v", err)
	case errors.Is(err, authz.ErrNoRule):
		return wire.Errorf(wire.CodeNotFound, "%v", err)
	case errors.Is(err, authz.ErrTooManyRules):
		return wire.Errorf(wire.CodeQuota, "%v", err)
	}
	return err
}
