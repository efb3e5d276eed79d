package conformance_test

import (
	"context"
	"testing"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/conformance"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
)

// TestHubWithCredentialsConforms runs the suite against a hub that asks
// for credentials (no --dev), as conformance/doc.go says it can: its
// ResponseTopics must lie under the consumer's account (replies/{account}/),
// the only reply topics such a hub lets it use.
func TestHubWithCredentialsConforms(t *testing.T) {
	const pw = "conformance password"
	h := hubtest.Start(t, func(o *hub.Options) {
		o.HTTPAddr, o.Dev, o.PasswordCost = "127.0.0.1:0", false, 4
	})
	ctx := context.Background()
	for id, role := range map[string]authz.Role{"conf-agent": authz.RoleAgent, "conf-user": authz.RoleManager} {
		if err := h.Accounts().Add(ctx, id, role, "", pw); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Accounts().AddTopicRule(ctx, authz.TopicRule{Who: "conf-user", Filter: "wotmq-conformance/#", Publish: true, Subscribe: true}); err != nil {
		t.Fatal(err)
	}
	results := conformance.Run(t.Context(), conformance.Config{Broker: h.MQTTAddr(),
		AgentID: "conf-agent", AgentPassword: pw, Username: "conf-user", Password: pw})
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.ID, r.Err)
		}
	}
}
