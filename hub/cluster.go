package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/cluster"
	"github.com/wotmq/wotmq/directory"
	"github.com/wotmq/wotmq/inbox"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/natsnode"
	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/presence"
	"github.com/wotmq/wotmq/twin"
)

// ClusterOptions make a hub a node of a cluster (docs/cluster.md). The
// zero value is a single node: Badger, no NATS.
type ClusterOptions struct {
	// Name is the cluster's name; clustering is off when empty.
	Name string
	// Listen is this node's NATS route address, HOST:PORT.
	Listen string
	// Routes are the other nodes' route URLs, nats://HOST:PORT.
	Routes []string
	// NATSURLs join an existing NATS deployment (with JetStream) instead
	// of embedding a NATS server.
	NATSURLs []string
	// NodeName names the node in the cluster, logs and metrics; the host
	// name when empty. Unique per node.
	NodeName string
}

// clusterStartTimeout bounds the wait for JetStream's quorum at start:
// the other nodes may start a little later.
const clusterStartTimeout = 2 * time.Minute

// clusterStoreRetry is how long a node tries a store write again while
// JetStream elects a new leader after a node's loss (seconds, on a busy
// machine): the client's acknowledgement waits rather than fails; and how
// long an agent's later requests wait for an earlier one's delivery.
const clusterStoreRetry = 30 * time.Second

// errClusterOptions is wrapped by every refusal of the cluster settings.
var errClusterOptions = errors.New("hub: cluster settings")

func (c ClusterOptions) enabled() bool { return c.Name != "" }

// check refuses settings that cannot work, before anything is opened.
func (c *ClusterOptions) check(upstream bool) error {
	if !c.enabled() {
		if c.Listen != "" || len(c.Routes) > 0 || len(c.NATSURLs) > 0 || c.NodeName != "" {
			return fmt.Errorf("%w: --cluster-listen, --cluster-routes, --nats-url and --node-name need --cluster NAME", errClusterOptions)
		}
		return nil
	}
	if upstream {
		return fmt.Errorf("%w: a cluster node cannot be an edge hub (--upstream) yet: the bridge reads a single node's store", errClusterOptions)
	}
	if c.NodeName == "" {
		h, err := os.Hostname()
		if err != nil || h == "" {
			return fmt.Errorf("%w: no --node-name and no host name", errClusterOptions)
		}
		c.NodeName = h
	}
	if len(c.NATSURLs) == 0 && c.Listen == "" {
		return fmt.Errorf("%w: --cluster needs --cluster-listen HOST:PORT (or --nats-url to join an existing NATS)", errClusterOptions)
	}
	return nil
}

// replicas is how many copies every stream and bucket keeps: three in a
// cluster of three or more (a write is acknowledged once two have it),
// fewer on a cluster of fewer embedded nodes; on an existing NATS, three
// when it is a cluster, one when it is a single server.
func (c ClusterOptions) replicas(n *natsnode.Node) int {
	if len(c.NATSURLs) > 0 {
		if n.Conn().ConnectedClusterName() == "" {
			return 1
		}
		return 3
	}
	return min(3, 1+len(c.Routes))
}

// badgerStores are a single node's stores, as opened (hub.go).
type badgerStores struct {
	dir      *directory.Directory
	inbox    *inbox.Store
	outbox   *outbox.Store
	presence *presence.Store
}

// clusterNode is what a hub in a cluster runs beside its MQTT broker.
type clusterNode struct {
	nats     *natsnode.Node
	dir      *jetstore.Directory
	inbox    *jetstore.Inbox
	bus      *cluster.Bus
	owners   *cluster.Owners // which node holds each identity's connection
	retained retainedMirror  // free topics' retained messages (cluster_retained.go)
	broker   atomic.Pointer[broker.Hub]
	log      zerolog.Logger

	// agents whose requests another node queued, for the loop that
	// delivers them (joinCluster); queued signals it.
	mu     sync.Mutex
	agents map[string]bool
	queued chan struct{}
}

// openCluster starts (or joins) NATS and opens the stores on JetStream in
// place of Badger's directory, inbox, outbox, presence and accounts, then
// creates the cluster's first admin account if it has none. Badger stays
// open for the store format and the retained free-topic messages.
func (h *Hub) openCluster(ctx context.Context) error {
	c := h.opts.Cluster
	log := h.log.With().Str("node", c.NodeName).Logger()
	n, err := natsnode.Start(ctx, natsnode.Options{Name: c.NodeName, DataDir: h.opts.DataDir, Cluster: c.Name,
		ClusterListen: c.Listen, Routes: c.Routes, URLs: c.NATSURLs, Log: &log})
	if err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	bus, err := cluster.NewBus(n.Conn(), cluster.BusOptions{Node: c.NodeName, Log: log})
	if err != nil {
		n.Close()
		return fmt.Errorf("hub: %w", err)
	}
	h.cluster = &clusterNode{nats: n, bus: bus, log: log}
	o := jetstore.Options{JS: n.JetStream(), Replicas: c.replicas(n), Now: h.opts.Now, Log: log, Retry: clusterStoreRetry}
	maxHistory := h.opts.Limits.MaxHistory
	if maxHistory == 0 {
		maxHistory = DefaultMaxHistory
	}
	ctx, cancel := context.WithTimeout(ctx, clusterStartTimeout)
	defer cancel()
	// JetStream answers only once its nodes have elected their leaders:
	// the first calls fail while the other nodes start.
	var cerr error
	for attempt := 0; ; attempt++ {
		cerr = h.openClusterStores(ctx, o, maxHistory)
		if cerr == nil {
			break
		}
		if ctx.Err() != nil {
			h.closeCluster()
			return fmt.Errorf("hub: the cluster's stores did not open within %s: %w", clusterStartTimeout, cerr)
		}
		if attempt%10 == 0 {
			log.Info().Err(cerr).Msg("waiting for the cluster's JetStream")
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond): // retry interval, not a wait for an event
		}
	}
	log.Info().Str("cluster", c.Name).Int("replicas", o.Replicas).Str("nats", n.ClientURL()).Msg("cluster stores open")
	if err := h.firstAdmin(ctx); err != nil {
		h.closeCluster()
		return err
	}
	return nil
}

// sessionEstablished records that this node holds a session's newest
// connection (broker.Options.SessionEstablished: the key
// {account}/{client ID}, so that one account's other clients on other
// nodes are left alone, as on one node).
func (cn *clusterNode) sessionEstablished(identity string) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), clusterStoreRetry)
		defer cancel()
		if _, err := cn.owners.Claim(ctx, identity); err != nil {
			cn.log.Warn().Err(err).Str("identity", identity).Msg("cannot record this node as the connection's holder")
		}
	}()
}

func (h *Hub) openClusterStores(ctx context.Context, o jetstore.Options, maxHistory int) error {
	cn := h.cluster
	attempt, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if cn.dir == nil {
		d, err := jetstore.OpenDirectory(attempt, o)
		if err != nil {
			return err
		}
		cn.dir = d
	}
	if cn.inbox == nil {
		in, err := jetstore.OpenInbox(attempt, o, inbox.Options{Now: h.opts.Now, DefaultExpiry: h.opts.ActionExpiry, OutcomeRecall: h.opts.OutcomeRecall})
		if err != nil {
			return err
		}
		cn.inbox = in
	}
	out, err := jetstore.OpenOutbox(attempt, o, jetstore.OutboxOptions{DefaultRetention: h.opts.Retention, MaxHistory: maxHistory})
	if err != nil {
		return err
	}
	pres, err := jetstore.OpenPresence(attempt, o)
	if err != nil {
		return err
	}
	if cn.retained.store == nil {
		r, err := jetstore.OpenRetained(attempt, o)
		if err != nil {
			return err
		}
		cn.retained.store = r
	}
	if cn.owners == nil {
		// The newest connection of an identity wins across the cluster:
		// the node that held it ends its session there (0x8E).
		ow, err := cluster.OpenOwners(attempt, o.JS, cluster.OwnersOptions{Node: h.opts.Cluster.NodeName, Replicas: o.Replicas, Log: o.Log,
			TakenOver: func(identity string, by cluster.Owner) {
				if b := cn.broker.Load(); b != nil {
					go b.EndSessions(identity) // not on the watcher's goroutine
				}
			}})
		if err != nil {
			return err
		}
		cn.owners = ow
	}
	if h.authz == nil {
		// Accounts, access lists and rules, revoked tokens and the token
		// key: one set for the cluster, every change applied on every
		// node (authz.WatchingBackend).
		acc, err := jetstore.OpenAccounts(attempt, o)
		if err != nil {
			return err
		}
		if h.authz, err = authz.OpenBackend(attempt, acc, h.authzOptions()); err != nil {
			return err
		}
	}
	h.dir, h.inbox, h.outbox, h.presence = cn.dir, cn.inbox, out, pres
	return nil
}

// closeCluster stops the stores' watchers and NATS.
func (h *Hub) closeCluster() {
	cn := h.cluster
	if cn == nil {
		return
	}
	if cn.dir != nil {
		cn.dir.Close()
	}
	if cn.inbox != nil {
		cn.inbox.Close()
	}
	if cn.owners != nil {
		cn.owners.Close()
	}
	if cn.retained.store != nil {
		cn.retained.store.Close()
	}
	if h.authz != nil {
		h.authz.Close() // its watcher, before NATS goes
	}
	cn.bus.Close()
	cn.nats.Close()
}

// fanout sends what this node's core publishes to the other nodes.
func (cn *clusterNode) fanout(m twin.Message) {
	cm := cluster.Message{Topic: m.Topic, Payload: m.Payload, Retain: m.Retain, QoS: m.QoS,
		ResponseTopic: m.ResponseTopic, CorrelationData: m.CorrelationData, Expiry: m.Expiry}
	for _, u := range m.User {
		cm.UserProps = append(cm.UserProps, [2]string{u.Key, u.Value})
	}
	if err := cn.bus.Publish(cm); err != nil {
		cn.log.Warn().Err(err).Str("topic", m.Topic).Msg("cannot send to the other nodes")
	}
}

// joinCluster connects the broker and its core to the other nodes: what
// they publish reaches this node's clients and event streams, and requests
// they queue for an agent connected here are delivered from here.
func (h *Hub) joinCluster() error {
	cn := h.cluster
	b := h.broker
	cn.broker.Store(b)
	if err := cn.bus.Subscribe(func(cm cluster.Message) {
		m := twin.Message{Topic: cm.Topic, Payload: cm.Payload, Retain: cm.Retain, QoS: cm.QoS,
			ResponseTopic: cm.ResponseTopic, CorrelationData: cm.CorrelationData, Expiry: cm.Expiry}
		for _, u := range cm.UserProps {
			m.User = append(m.User, twin.Property{Key: u[0], Value: u[1]})
		}
		b.Inject(m)
		if m.Retain && twin.Free(m.Topic) {
			cn.retained.fromBus(m.Topic)
		}
		b.Core().Remote(m)
	}); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	if err := cn.retained.watch(b); err != nil {
		return fmt.Errorf("hub: %w", err)
	}
	cn.queued = make(chan struct{}, 1)
	cn.agents = map[string]bool{}
	cn.inbox.OnPending(func(agent string) {
		cn.mu.Lock()
		cn.agents[agent] = true
		cn.mu.Unlock()
		select {
		case cn.queued <- struct{}{}:
		default: // a signal is waiting already
		}
	})
	h.bg.Add(1)
	go func() {
		defer h.bg.Done()
		for {
			select {
			case <-h.stop:
				return
			case <-cn.queued:
			}
			cn.mu.Lock()
			agents := cn.agents
			cn.agents = map[string]bool{}
			cn.mu.Unlock()
			for a := range agents {
				b.Core().RequestsQueued(a)
			}
		}
	}()
	return nil
}

// NATSURL is the client URL of the node's NATS (embedded or joined); ""
// on a single node. For tools and tests: the node itself needs no port.
func (h *Hub) NATSURL() string {
	if h.cluster == nil {
		return ""
	}
	return h.cluster.nats.ClientURL()
}
