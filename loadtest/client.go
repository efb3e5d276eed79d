package loadtest

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"github.com/eclipse/paho.golang/paho"
)

// conn is one MQTT 5 client of the load.
type conn struct {
	*paho.Client
	id      string      // client ID
	name    string      // identity: the user name, else the client ID
	closing atomic.Bool // errors after Disconnect are not failures
	things  []string    // the Things it registered (register), deleted by closeAgents
}

// dial connects a client. onMsg (may be nil) gets every message it
// receives, on paho's single handler goroutine: it must not block. A
// connection lost before close is counted on m.
func (r *runner) dial(ctx context.Context, id string, m *meter, onMsg func(*paho.Publish)) (*conn, error) {
	d := net.Dialer{Timeout: r.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", r.cfg.Broker)
	if err != nil {
		return nil, err
	}
	if tc, ok := nc.(*net.TCPConn); ok {
		nc = &bufferedConn{TCPConn: tc, r: bufio.NewReaderSize(tc, 2048)}
	}
	c := &conn{id: id, name: id}
	if r.cfg.Username != "" {
		c.name = r.cfg.Username
	}
	cfg := paho.ClientConfig{
		ClientID:      id,
		Conn:          nc,
		PacketTimeout: r.cfg.Timeout,
		OnClientError: func(err error) {
			if !c.closing.Load() && m != nil {
				m.fail(fmt.Errorf("client %s: %w", id, err))
			}
		},
		OnServerDisconnect: func(d *paho.Disconnect) {
			if !c.closing.Load() && m != nil {
				m.fail(fmt.Errorf("client %s: disconnected by the broker: reason %#x", id, d.ReasonCode))
			}
		},
	}
	if onMsg != nil {
		cfg.OnPublishReceived = []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			onMsg(pr.Packet)
			return true, nil
		}}
	}
	c.Client = paho.NewClient(cfg)
	cp := &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: uint16(min(r.cfg.KeepAlive.Seconds(), 65535))}
	if r.cfg.Username != "" {
		cp.Username, cp.UsernameFlag = r.cfg.Username, true
	}
	if r.cfg.Password != "" {
		cp.Password, cp.PasswordFlag = []byte(r.cfg.Password), true
	}
	cctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	ca, err := c.Connect(cctx, cp)
	if err != nil {
		nc.Close()
		if ca != nil && ca.Properties != nil && ca.Properties.ReasonString != "" {
			return nil, fmt.Errorf("connect %s: %w (%s)", id, err, ca.Properties.ReasonString)
		}
		return nil, fmt.Errorf("connect %s: %w", id, err)
	}
	return c, nil
}

// dialMany connects n clients, at most DialConcurrency at once; setup (may
// be nil) runs for each after it connected. On an error every client
// connected so far is closed.
func (r *runner) dialMany(ctx context.Context, n int, id func(i int) string, m *meter,
	onMsg func(i int) func(*paho.Publish), setup func(ctx context.Context, i int, c *conn) error) ([]*conn, error) {
	conns := make([]*conn, n)
	sem := make(chan struct{}, r.cfg.DialConcurrency)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			var h func(*paho.Publish)
			if onMsg != nil {
				h = onMsg(i)
			}
			c, err := r.dial(ctx, id(i), m, h)
			if err == nil && setup != nil {
				if err = setup(ctx, i, c); err != nil {
					closeAll([]*conn{c})
				}
			}
			if err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		first = ctx.Err()
	}
	if first != nil {
		closeAll(conns)
		return nil, first
	}
	return conns, nil
}

// closeAll disconnects clients (nil entries are skipped).
func closeAll(conns []*conn) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 256)
	for _, c := range conns {
		if c == nil {
			continue
		}
		c.closing.Store(true)
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = c.Disconnect(&paho.Disconnect{})
		})
	}
	wg.Wait()
}

// subscribe subscribes c to filters with QoS 1, at most 100 in a
// SUBSCRIBE packet.
func (r *runner) subscribe(ctx context.Context, c *conn, filters ...string) error {
	return r.subscribeQoS(ctx, c, 1, filters...)
}

// subscribeQoS subscribes c to filters with qos, at most 100 in a
// SUBSCRIBE packet.
func (r *runner) subscribeQoS(ctx context.Context, c *conn, qos byte, filters ...string) error {
	for len(filters) > 0 {
		n := min(len(filters), 100)
		var subs []paho.SubscribeOptions
		for _, f := range filters[:n] {
			subs = append(subs, paho.SubscribeOptions{Topic: f, QoS: qos})
		}
		sctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
		sa, err := c.Subscribe(sctx, &paho.Subscribe{Subscriptions: subs})
		cancel()
		if err != nil {
			return fmt.Errorf("subscribe %s to %s: %w", c.id, filters[0], err)
		}
		for i, code := range sa.Reasons {
			if code >= 0x80 {
				return fmt.Errorf("subscribe %s to %s: refused (%#x)", c.id, filters[i], code)
			}
		}
		if len(sa.Reasons) != n {
			return fmt.Errorf("subscribe %s: %d reason codes for %d filters", c.id, len(sa.Reasons), n)
		}
		filters = filters[n:]
	}
	return nil
}

// publish sends one QoS 1 message and waits for its acknowledgement.
func (r *runner) publish(ctx context.Context, c *conn, p *paho.Publish) error {
	return r.publishQoS(ctx, c, 1, p)
}

// publishQoS sends one message; at QoS 1 it waits for its
// acknowledgement, at QoS 0 only for the write.
func (r *runner) publishQoS(ctx context.Context, c *conn, qos byte, p *paho.Publish) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	p.QoS = qos
	pr, err := c.Publish(ctx, p)
	if err != nil {
		if pr != nil && pr.Properties != nil && pr.Properties.ReasonString != "" {
			return fmt.Errorf("publish %s on %s: %w (%s)", c.id, p.Topic, err, pr.Properties.ReasonString)
		}
		return fmt.Errorf("publish %s on %s: %w", c.id, p.Topic, err)
	}
	return nil
}

// register publishes the bench TD of thing as agent c (TargetWotmq only).
// One goroutine registers for each agent.
func (r *runner) register(ctx context.Context, c *conn, thing string) error {
	if r.cfg.Target != TargetWotmq {
		return nil
	}
	if err := r.publish(ctx, c, &paho.Publish{Topic: r.sh.tdTopic(c.name, thing), Payload: benchTD(thing)}); err != nil {
		return err
	}
	c.things = append(c.things, thing)
	return nil
}

// closeAgents deletes the Things the agents registered, unless Keep (an
// empty TD deletes a Thing; its unfinished requests fail), and then
// disconnects them: a run leaves nothing behind in the hub it measured.
func (r *runner) closeAgents(agents []*conn) {
	if !r.cfg.Keep {
		var wg sync.WaitGroup
		sem := make(chan struct{}, 64)
		for _, c := range agents {
			if c == nil || len(c.things) == 0 {
				continue
			}
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				for _, thing := range c.things {
					ctx, cancel := context.WithTimeout(context.Background(), r.cfg.Timeout)
					err := r.publish(ctx, c, &paho.Publish{Topic: r.sh.tdTopic(c.name, thing)})
					cancel()
					if err != nil {
						fmt.Fprintf(r.cfg.Progress, "could not delete Thing %s: %v\n", thing, err)
					}
				}
			})
		}
		wg.Wait()
	}
	closeAll(agents)
}

// bufferedConn buffers reads: paho reads each packet's header a byte at a
// time, a system call each without a buffer, which would make the load
// tool's consumers, not the broker, the bottleneck. It embeds the
// *net.TCPConn itself so that paho's packet writes stay single writev
// calls (net.Buffers).
type bufferedConn struct {
	*net.TCPConn
	r *bufio.Reader
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }
