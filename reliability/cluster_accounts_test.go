package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/clustertest"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wire"
)

// The evidence cluster requires credentials (issue 14: accounts are the
// cluster's): the first admin, made once for the cluster from the
// password every node is given, adds the test's accounts on one node, and
// every client logs in with them on whichever node it uses.

const (
	evidenceAdminPassword = "evidence admin password"
	evidencePassword      = "evidence client password"
)

// evidenceAccounts logs in as the admin on every node (one account, made
// once) and adds the accounts the evidence's clients use, plus the access
// rule the conformance suite's free-topic checks need (conformance/doc.go).
func evidenceAccounts(t *testing.T, nodes []*clusterNodeProc) {
	t.Helper()
	// Every node ran its start (past "hub started"): one made the admin.
	made := 0
	for _, n := range nodes {
		made += n.Count(`"message":"created the first admin account"`)
	}
	if made != 1 {
		t.Errorf("%d nodes created the first admin account, want 1 for the cluster", made)
	}
	var admin *hubtest.Client
	for _, n := range nodes {
		admin = dialClusterNode(t, n, "admin-"+n.name, "admin")
	}
	admin.Sub("replies/admin/#")
	ask := func(req twin.AdminRequest) {
		t.Helper()
		b, _ := json.Marshal(req)
		corr := fmt.Sprint(req.Op, req.ID)
		admin.MustPub(authz.AdminTopic, b, &paho.PublishProperties{ResponseTopic: "replies/admin/evidence", CorrelationData: []byte(corr)})
		m := admin.Next("replies/admin/evidence")
		if st := userProp(m, wire.PropStatus); st != string(wire.StatusCompleted) || string(m.Properties.CorrelationData) != corr {
			t.Fatalf("admin %s %s: %s %s", req.Op, req.ID, st, m.Payload)
		}
	}
	ask(twin.AdminRequest{Op: twin.AdminRulesAdd, Rule: &authz.TopicRule{Who: "conf-user", Filter: "wotmq-conformance/#", Publish: true, Subscribe: true}})
	pw := evidencePassword
	for _, a := range []struct {
		id   string
		role authz.Role
	}{{"agent-l", authz.RoleAgent}, {"conf-agent", authz.RoleAgent}, {"consumer", authz.RoleOperator},
		{"consumer2", authz.RoleOperator}, {"watcher", authz.RoleViewer}, {"conf-user", authz.RoleManager}} {
		ask(twin.AdminRequest{Op: twin.AdminAccountsAdd, ID: a.id, Role: string(a.role), Password: &pw})
	}
	// Every node has them before the clients come: each node applies the
	// bucket's changes in order, and conf-user was the last.
	for _, n := range nodes {
		clustertest.WaitFor(t, "the accounts on "+n.name, func() error {
			return evidenceLogin(n, "conf-user")
		})
	}
}

// evidenceLogin tries one login of user on node n.
func evidenceLogin(n *clusterNodeProc, user string) error {
	conn, err := net.Dial("tcp", n.mqtt)
	if err != nil {
		return err
	}
	defer conn.Close()
	c := paho.NewClient(paho.ClientConfig{Conn: conn})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ca, err := c.Connect(ctx, &paho.Connect{ClientID: "probe-" + user, CleanStart: true, KeepAlive: 30,
		Username: user, UsernameFlag: true, Password: []byte(evidencePassword), PasswordFlag: true})
	if err != nil {
		return fmt.Errorf("%v (%+v)", err, ca)
	}
	_ = c.Disconnect(&paho.Disconnect{})
	return nil
}
