package hub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/migrate"
	"github.com/wotmq/wotmq/natsnode"
)

// A running cluster's backup (`wotmq export --nats-url`) and the way back
// into its accounts (`wotmq reset-password --nats-url`): both reach the
// cluster's JetStream stores through any node's NATS, while the nodes run
// (docs/cluster.md, "Backups" and "A lost admin password").

// ExportCluster writes an archive of a running cluster's data, read from
// its JetStream stores through natsURLs (any node's NATS client URL), in
// the format of Export. It writes nothing into the cluster and changes no
// bucket or stream (jetstore.Options.ReadOnly): a missing one is refused
// (jetstore.ErrNoStore), as a NATS that is no wotmq cluster's.
//
// Each record is as the cluster held it when read; what the nodes change
// during the export may be in it or not (a record is never half of one).
func ExportCluster(ctx context.Context, natsURLs []string, w io.Writer, log *zerolog.Logger) (c migrate.Counts, err error) {
	n, jo, err := dialClusterStores(ctx, "wotmq-export", natsURLs, log)
	if err != nil {
		return c, err
	}
	defer n.Close()
	jo.ReadOnly = true
	st, err := openClusterStores(ctx, jo, jetstore.OutboxOptions{})
	if err != nil {
		return c, err
	}
	defer st.Close()
	return migrate.Export(ctx, migrate.Source{Directory: st.dir, Presence: st.pres, Outbox: st.out, Inbox: st.in,
		Authz: st.accounts, Retained: st.ret, Name: "cluster " + redactURLs(natsURLs)}, w)
}

// ResetClusterPassword sets the password of an account in a running
// cluster's account store, through natsURLs, and enables it; an account
// that does not exist is created as an admin (as ResetPassword does on a
// single node). Every node applies the change from the bucket: the
// account's connections and event streams end and its tokens are void, as
// after a password change over the admin API. The cluster's buckets must
// exist (a NATS that is no wotmq cluster's is refused, jetstore.ErrNoStore).
func ResetClusterPassword(ctx context.Context, natsURLs []string, account, password string, log *zerolog.Logger) (created bool, err error) {
	n, jo, err := dialClusterStores(ctx, "wotmq-reset-password", natsURLs, log)
	if err != nil {
		return false, err
	}
	defer n.Close()
	acc, err := jetstore.OpenAccounts(ctx, jo)
	if err != nil {
		return false, err
	}
	st, err := authz.OpenBackend(ctx, acc, authz.Options{})
	if err != nil {
		return false, err
	}
	defer st.Close()
	enabled := true
	err = st.Update(ctx, account, nil, nil, &enabled, &password)
	if errors.Is(err, authz.ErrNoAccount) {
		return true, st.Add(ctx, account, authz.RoleAdmin, "Administrator", password)
	}
	return false, err
}

// dialClusterStores connects to a cluster's NATS, for a tool working on
// its stores beside the running nodes: the stores open as they are
// (jetstore.Existing), whatever settings the nodes run with.
func dialClusterStores(ctx context.Context, name string, natsURLs []string, log *zerolog.Logger) (*natsnode.Node, jetstore.Options, error) {
	if len(natsURLs) == 0 {
		return nil, jetstore.Options{}, errors.New("hub: no NATS URL of the cluster")
	}
	n, err := natsnode.Start(ctx, natsnode.Options{Name: name, URLs: natsURLs, Log: log})
	if err != nil {
		return nil, jetstore.Options{}, fmt.Errorf("hub: %w", err)
	}
	jo := jetstore.Options{JS: n.JetStream(), Replicas: ClusterOptions{NATSURLs: natsURLs}.replicas(n), Retry: clusterStoreRetry,
		Mode: jetstore.Existing}
	if log != nil {
		jo.Log = *log
	}
	return n, jo, nil
}

// clusterStores are a cluster's JetStream stores as export and import
// use them, the accounts through authz's store as the nodes keep them.
type clusterStores struct {
	dir      *jetstore.Directory
	in       *jetstore.Inbox
	out      *jetstore.Outbox
	pres     *jetstore.Presence
	accounts *authz.Store
	ret      *jetstore.Retained
}

// openClusterStores opens every store of the cluster jo reaches; on an
// error what it opened is closed.
func openClusterStores(ctx context.Context, jo jetstore.Options, oo jetstore.OutboxOptions) (*clusterStores, error) {
	st := &clusterStores{}
	if err := st.open(ctx, jo, oo); err != nil {
		st.Close()
		return nil, err
	}
	return st, nil
}

func (st *clusterStores) open(ctx context.Context, jo jetstore.Options, oo jetstore.OutboxOptions) (err error) {
	if st.dir, err = jetstore.OpenDirectory(ctx, jo); err != nil {
		return err
	}
	if st.in, err = jetstore.OpenInbox(ctx, jo, inbox.Options{}); err != nil {
		return err
	}
	if st.out, err = jetstore.OpenOutbox(ctx, jo, oo); err != nil {
		return err
	}
	if st.pres, err = jetstore.OpenPresence(ctx, jo); err != nil {
		return err
	}
	acc, err := jetstore.OpenAccounts(ctx, jo)
	if err != nil {
		return err
	}
	if st.accounts, err = authz.OpenBackend(ctx, acc, authz.Options{}); err != nil {
		return err
	}
	st.ret, err = jetstore.OpenRetained(ctx, jo)
	return err
}

// Close closes the stores that hold watchers.
func (st *clusterStores) Close() {
	if st.ret != nil {
		_ = st.ret.Close()
	}
	if st.accounts != nil {
		st.accounts.Close()
	}
	if st.in != nil {
		_ = st.in.Close()
	}
	if st.dir != nil {
		_ = st.dir.Close()
	}
}

// redactURLs is natsURLs without the credentials a URL may carry, for the
// archive's header.
func redactURLs(natsURLs []string) string {
	out := make([]string, 0, len(natsURLs))
	for _, s := range natsURLs {
		u, err := url.Parse(s)
		if err != nil || u.Host == "" {
			out = append(out, "(a NATS URL)")
			continue
		}
		u.User = nil
		out = append(out, u.Redacted())
	}
	return strings.Join(out, ",")
}
