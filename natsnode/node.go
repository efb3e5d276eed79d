package natsnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Errors returned by Start.
var (
	ErrOptions = errors.New("natsnode: bad options")
	ErrNotUp   = errors.New("natsnode: NATS did not become ready")
)

// DefaultReadyTimeout bounds how long Start waits for the embedded server
// to accept connections (JetStream recovers its streams before that).
const DefaultReadyTimeout = 60 * time.Second

// Options configures a Node. With only DataDir set it is a standalone
// embedded JetStream node on an ephemeral loopback client port.
type Options struct {
	// Name names the node in logs and in the cluster (server_name). It
	// must be unique in the cluster; the host name when empty.
	Name string
	// DataDir is where JetStream keeps its files (DataDir/jetstream).
	// Required for an embedded node.
	DataDir string
	// Cluster is the cluster's name; a standalone JetStream node when
	// empty (and ClusterListen and Routes unset).
	Cluster string
	// ClusterListen is this node's route address, HOST:PORT.
	ClusterListen string
	// Routes are the other nodes' route URLs (nats://host:port). Without
	// any, the node is a cluster of one: standalone JetStream, no route
	// listener.
	Routes []string
	// ClientListen is the NATS client address, HOST:PORT; 127.0.0.1 on an
	// ephemeral port when empty. The wotmq process on the node reaches its
	// server in-process, so only tools need this port.
	ClientListen string
	// URLs joins an existing NATS deployment instead of embedding a
	// server: every other field but Name is then ignored.
	URLs []string
	// ReadyTimeout bounds the wait for the embedded server;
	// DefaultReadyTimeout when zero.
	ReadyTimeout time.Duration
	// Log receives the server's log lines; a disabled logger when nil.
	Log *zerolog.Logger
}

// Node is a running NATS node (embedded) or a connection to an external
// one.
type Node struct {
	srv  *server.Server // nil when external
	nc   *nats.Conn
	js   jetstream.JetStream
	log  zerolog.Logger
	name string
}

// Start starts an embedded server (or connects to Options.URLs), waits
// until it accepts connections and connects to it.
func Start(ctx context.Context, o Options) (*Node, error) {
	log := zerolog.Nop()
	if o.Log != nil {
		log = *o.Log
	}
	n := &Node{log: log, name: o.Name}
	if len(o.URLs) > 0 {
		nc, err := nats.Connect(strings.Join(o.URLs, ","), n.connectOptions()...)
		if err != nil {
			return nil, fmt.Errorf("natsnode: connect %s: %w", strings.Join(o.URLs, ","), err)
		}
		return n.finish(nc)
	}
	so, err := serverOptions(o)
	if err != nil {
		return nil, err
	}
	if err := checkListeners(so); err != nil {
		return nil, err
	}
	srv, err := server.NewServer(so)
	if err != nil {
		return nil, fmt.Errorf("natsnode: %w", err)
	}
	srv.SetLoggerV2(zlogger{log}, false, false, false)
	srv.Start()
	wait := o.ReadyTimeout
	if wait <= 0 {
		wait = DefaultReadyTimeout
	}
	if !srv.ReadyForConnections(wait) {
		srv.Shutdown()
		return nil, fmt.Errorf("%w within %s", ErrNotUp, wait)
	}
	n.srv = srv
	nc, err := nats.Connect("", append(n.connectOptions(), nats.InProcessServer(srv))...)
	if err != nil {
		srv.Shutdown()
		return nil, fmt.Errorf("natsnode: connect in-process: %w", err)
	}
	return n.finish(nc)
}

func (n *Node) connectOptions() []nats.Option {
	return []nats.Option{
		nats.Name("wotmq " + n.name),
		nats.MaxReconnects(-1),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				n.log.Warn().Err(err).Msg("NATS connection lost")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) { n.log.Info().Str("url", nc.ConnectedUrlRedacted()).Msg("NATS reconnected") }),
	}
}

// asyncPublishTimeout is how long an asynchronous publish waits for its
// acknowledgement before it fails (and is retried by the store).
const asyncPublishTimeout = 5 * time.Second

func (n *Node) finish(nc *nats.Conn) (*Node, error) {
	// The stores issue writes together and await their acknowledgements
	// (jetstore's group commit): one lost with a failed leader must not
	// stay pending for ever, so each times out (and is made again).
	js, err := jetstream.New(nc, jetstream.WithPublishAsyncTimeout(asyncPublishTimeout))
	if err != nil {
		nc.Close()
		if n.srv != nil {
			n.srv.Shutdown()
		}
		return nil, fmt.Errorf("natsnode: jetstream: %w", err)
	}
	n.nc, n.js = nc, js
	return n, nil
}

// checkListeners binds the addresses the server will listen on, and lets
// them go at once. The embedded server only logs a listener it could not
// open and goes on without it (a node whose route port is taken then
// waits out ReadyTimeout, and says only that it did not become ready):
// a port already in use is said here, at once, by name.
func checkListeners(so *server.Options) error {
	check := func(what, host string, port int) error {
		if port <= 0 {
			return nil // an ephemeral port, or none
		}
		addr := net.JoinHostPort(host, strconv.Itoa(port))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("natsnode: %s %s: %w", what, addr, err)
		}
		return l.Close()
	}
	if err := check("client listen", so.Host, so.Port); err != nil {
		return err
	}
	return check("cluster listen", so.Cluster.Host, so.Cluster.Port)
}

func serverOptions(o Options) (*server.Options, error) {
	if o.DataDir == "" {
		return nil, fmt.Errorf("%w: an embedded node needs a data directory", ErrOptions)
	}
	so := &server.Options{
		ServerName: o.Name,
		JetStream:  true,
		StoreDir:   filepath.Join(o.DataDir, "jetstream"),
		NoSigs:     true,
		NoLog:      false,
		Host:       "127.0.0.1",
		Port:       server.RANDOM_PORT,
		// The monitoring, websocket, MQTT and leaf listeners stay off.
	}
	if o.ClientListen != "" {
		h, p, err := splitHostPort(o.ClientListen)
		if err != nil {
			return nil, fmt.Errorf("%w: client listen: %v", ErrOptions, err)
		}
		so.Host, so.Port = h, p
	}
	if o.Cluster == "" {
		if o.ClusterListen != "" || len(o.Routes) > 0 {
			return nil, fmt.Errorf("%w: routes and a cluster listen address need a cluster name", ErrOptions)
		}
		return so, nil
	}
	if o.Name == "" {
		return nil, fmt.Errorf("%w: a cluster node needs a name", ErrOptions)
	}
	if o.ClusterListen == "" {
		return nil, fmt.Errorf("%w: a cluster node needs a route listen address (HOST:PORT)", ErrOptions)
	}
	h, p, err := splitHostPort(o.ClusterListen)
	if err != nil {
		return nil, fmt.Errorf("%w: cluster listen: %v", ErrOptions, err)
	}
	if len(o.Routes) == 0 {
		// A cluster of one: JetStream refuses clustering without routes,
		// so the node runs standalone (its streams have one replica).
		return so, nil
	}
	so.Cluster = server.ClusterOpts{Name: o.Cluster, Host: h, Port: p}
	for _, r := range o.Routes {
		u, err := url.Parse(r)
		if err != nil || u.Scheme != "nats" || u.Host == "" {
			return nil, fmt.Errorf("%w: route %q is not nats://HOST:PORT", ErrOptions, r)
		}
		so.Routes = append(so.Routes, u)
	}
	return so, nil
}

func splitHostPort(hp string) (string, int, error) {
	h, ps, err := net.SplitHostPort(hp)
	if err != nil {
		return "", 0, err
	}
	p, err := strconv.Atoi(ps)
	if err != nil || p < 0 || p > 65535 {
		return "", 0, fmt.Errorf("bad port %q", ps)
	}
	if h == "" {
		h = "0.0.0.0"
	}
	if p == 0 {
		p = server.RANDOM_PORT // nats-server reads port 0 as its default port
	}
	return h, p, nil
}

// Conn is the node's NATS connection.
func (n *Node) Conn() *nats.Conn { return n.nc }

// JetStream is the node's JetStream context.
func (n *Node) JetStream() jetstream.JetStream { return n.js }

// Name is the node's name.
func (n *Node) Name() string { return n.name }

// ClientURL is the embedded server's client URL (for tools), or the URL
// the connection to an external deployment uses.
func (n *Node) ClientURL() string {
	if n.srv != nil {
		return n.srv.ClientURL()
	}
	return n.nc.ConnectedUrl()
}

// RouteURL is the embedded server's route URL (nats://host:port); empty
// for a standalone or external node.
func (n *Node) RouteURL() string {
	if n.srv == nil {
		return ""
	}
	a := n.srv.ClusterAddr()
	if a == nil {
		return ""
	}
	return "nats://" + a.String()
}

// Close drains the connection and shuts the embedded server down.
func (n *Node) Close() error {
	var err error
	if n.nc != nil {
		n.nc.Close()
	}
	if n.srv != nil {
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
	}
	return err
}

// zlogger writes nats-server's log lines to zerolog. Debug and trace are
// off (SetLoggerV2), so only notices, warnings and errors arrive.
type zlogger struct{ l zerolog.Logger }

func (z zlogger) Noticef(f string, v ...any) { z.l.Info().Str("from", "nats").Msgf(f, v...) }
func (z zlogger) Warnf(f string, v ...any)   { z.l.Warn().Str("from", "nats").Msgf(f, v...) }
func (z zlogger) Fatalf(f string, v ...any)  { z.l.Error().Str("from", "nats").Msgf(f, v...) }
func (z zlogger) Errorf(f string, v ...any)  { z.l.Error().Str("from", "nats").Msgf(f, v...) }
func (z zlogger) Debugf(f string, v ...any)  { z.l.Debug().Str("from", "nats").Msgf(f, v...) }
func (z zlogger) Tracef(f string, v ...any)  { z.l.Trace().Str("from", "nats").Msgf(f, v...) }
