package hub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/migrate"
	"github.com/wotmq/wotmq/natsnode"
)

// backupNode starts a cluster node that requires credentials, with its
// own embedded NATS and a history cap of 50 (not the default: an export
// that reconfigured the history stream would show).
func backupNode(t *testing.T, name string) *hub.Hub {
	t.Helper()
	return startHub(t, t.TempDir(), func(o *hub.Options) {
		o.Dev, o.PasswordCost = false, 4
		o.Limits.MaxHistory = 50
		o.Cluster = hub.ClusterOptions{Name: "backup", NodeName: name, Listen: "127.0.0.1:0"}
	})
}

// backupStreams describes every stream of a NATS (the KV buckets are
// streams too) but the session owners' bucket, which the node writes
// in the background at each connection.
func backupStreams(t *testing.T, js jetstream.JetStream) map[string]string {
	t.Helper()
	out := map[string]string{}
	l := js.ListStreams(context.Background())
	for si := range l.Info() {
		if si.Config.Name == "KV_WOTMQ_CONN" {
			continue
		}
		c := si.Config
		out[c.Name] = fmt.Sprintf("last %d, replicas %d, per subject %d, max age %s, ttl %v",
			si.State.LastSeq, c.Replicas, c.MaxMsgsPerSubject, c.MaxAge, c.AllowMsgTTL)
	}
	if err := l.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestClusterExportWhileRunning: `wotmq export --nats-url` reads a running
// cluster node's data through its NATS without changing a stream, bucket
// or record, and the archive, imported into a new single node's data
// directory, serves as the cluster did: the twin, history with the same
// cursors, the queued request, the retained free topic under its access
// rule, and the accounts with their passwords.
func TestClusterExportWhileRunning(t *testing.T) {
	ctx := context.Background()
	a := backupNode(t, "a")
	adminPW := a.InitialAdminPassword()
	before := moveFill(t, a)

	watcher, err := natsnode.Start(ctx, natsnode.Options{Name: "backup-watcher", URLs: []string{a.NATSURL()}})
	if err != nil {
		t.Fatal(err)
	}
	defer watcher.Close()
	streamsBefore := backupStreams(t, watcher.JetStream())
	var archive bytes.Buffer
	c, err := hub.ExportCluster(ctx, []string{a.NATSURL()}, &archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exported %s (%d bytes)", c, archive.Len())
	if c.Records[migrate.KindAccount] != 3 || c.Records[migrate.KindRule] != 1 || c.Records[migrate.KindThing] != 1 ||
		c.Records[migrate.KindHistory] != 8 || c.Records[migrate.KindRequest] != 1 || c.Records[migrate.KindRetained] != 1 {
		t.Fatalf("exported %s, want 3 accounts, 1 rule, 1 thing, 8 history, 1 request, 1 retained", c)
	}
	t.Run("ChangesNothingInTheCluster", func(t *testing.T) {
		after := backupStreams(t, watcher.JetStream())
		if fmt.Sprint(after) != fmt.Sprint(streamsBefore) {
			t.Fatalf("streams after the export:\n%v\nbefore:\n%v", after, streamsBefore)
		}
		if s := after["WOTMQ_HIST"]; !bytes.Contains([]byte(s), []byte("per subject 50,")) {
			t.Fatalf("the history stream after the export: %s, want the node's cap of 50", s)
		}
	})

	t.Run("ImportBackKeepsTheNodesSettings", func(t *testing.T) {
		// Restoring the backup into the running cluster writes nothing new
		// and leaves the node's history cap as it was.
		c, err := hub.Import(ctx, moveOpen(archive.Bytes()), hub.ImportOptions{NATSURLs: []string{a.NATSURL()}})
		if err != nil {
			t.Fatal(err)
		}
		if c.Records[migrate.KindHistory] != 0 || c.Records[migrate.KindRequest] != 0 {
			t.Fatalf("the import back wrote %s", c)
		}
		if s := backupStreams(t, watcher.JetStream())["WOTMQ_HIST"]; !bytes.Contains([]byte(s), []byte("per subject 50,")) {
			t.Fatalf("the history stream after an import: %s, want the node's cap of 50", s)
		}
	})

	dst := t.TempDir()
	if _, err := hub.Import(ctx, moveOpen(archive.Bytes()), hub.ImportOptions{DataDir: dst}); err != nil {
		t.Fatal(err)
	}
	h := hubtest.Start(t, moveSecure(dst))
	moveCheckTarget(t, h, before, func(id string) *client { return login(t, h, id, testPassword) })
	login(t, h, "admin", adminPW) // the cluster's admin, with the cluster's password
	if rules := h.Accounts().TopicRules(); len(rules) != 1 || rules[0].Filter != "site/#" {
		t.Fatalf("access rules after the move: %+v", rules)
	}
}

// TestClusterResetPasswordThroughNATS: `wotmq reset-password --nats-url`
// sets a password in a running cluster's accounts: the node ends the
// account's connection as a password change does, the new password logs
// in and the old one no longer does; an account that does not exist is
// created as an admin; a NATS without a cluster's buckets is refused and
// left without any.
func TestClusterResetPasswordThroughNATS(t *testing.T) {
	ctx := context.Background()
	a := backupNode(t, "a")
	oldPW := a.InitialAdminPassword()
	const newPW = "a new admin password 1"
	admin := acctLogin(t, a, "admin-1", "admin", oldPW)

	created, err := hub.ResetClusterPassword(ctx, []string{a.NATSURL()}, "admin", newPW, nil)
	if err != nil || created {
		t.Fatalf("reset: created %v, %v", created, err)
	}
	if rc, reason := acctEnded(t, admin); rc != 0x98 {
		t.Errorf("the admin's connection ended with %#x %q, want 0x98 (the password changed)", rc, reason)
	}
	acctLogin(t, a, "admin-2", "admin", newPW)
	if c, rc, _ := tryLogin(t, a, "admin-3", "admin", oldPW); c != nil || rc != 0x86 {
		t.Fatalf("the old password: CONNACK %#x, want 0x86", rc)
	}

	created, err = hub.ResetClusterPassword(ctx, []string{a.NATSURL()}, "rescue", newPW, nil)
	if err != nil || !created {
		t.Fatalf("reset of a new account: created %v, %v", created, err)
	}
	hubtest.WaitFor(t, "the rescue account on the node", func() bool { _, ok := a.Accounts().Get("rescue"); return ok })
	if acc, _ := a.Accounts().Get("rescue"); acc.Role != authz.RoleAdmin || !acc.Enabled {
		t.Fatalf("the created account: %+v, want an enabled admin", acc)
	}
	acctLogin(t, a, "rescue-1", "rescue", newPW)

	t.Run("RefusesANATSWithoutACluster", func(t *testing.T) {
		bare, err := natsnode.Start(ctx, natsnode.Options{Name: "bare", DataDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer bare.Close()
		urls := []string{bare.ClientURL()}
		if _, err := hub.ResetClusterPassword(ctx, urls, "admin", newPW, nil); !errors.Is(err, jetstore.ErrNoStore) {
			t.Errorf("reset on a bare NATS: %v, want ErrNoStore", err)
		}
		if _, err := hub.ExportCluster(ctx, urls, &bytes.Buffer{}, nil); !errors.Is(err, jetstore.ErrNoStore) {
			t.Errorf("export of a bare NATS: %v, want ErrNoStore", err)
		}
		if s := backupStreams(t, bare.JetStream()); len(s) != 0 {
			t.Errorf("streams made in the bare NATS: %v", s)
		}
	})
}
