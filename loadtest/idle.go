package loadtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// runIdle runs Idle: s.Agents MQTT 5 connections that send nothing but
// keep-alive. They are plain sockets speaking the few packets they need
// (CONNECT, PINGREQ, DISCONNECT), so that the load tool holds 20,000 of
// them in little memory. The broker's resident memory before they
// connect and once they all did gives the cost of one; during the
// measurement each sends one PINGREQ, spread over it, and the answers
// show the broker serves every connection without a stall.
func (r *runner) runIdle(ctx context.Context, s Scenario) (Result, error) {
	m := newMeter(r.cfg.Count)
	n := s.Agents
	before, _ := readProc(r.cfg.Pid)
	if r.cfg.Pid <= 0 {
		before.rss = -1
	}
	fmt.Fprintf(r.cfg.Progress, "%s: connecting %d idle clients\n", s.Name(), n)
	t0 := time.Now()
	conns := make([]*idleConn, n)
	sem := make(chan struct{}, r.cfg.DialConcurrency)
	var wg sync.WaitGroup
	var failed atomic.Pointer[error]
	for i := range n {
		sem <- struct{}{}
		if failed.Load() != nil || ctx.Err() != nil {
			<-sem
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := r.dialIdle(ctx, r.name("idle-"+strconv.Itoa(i)))
			if err != nil {
				failed.CompareAndSwap(nil, &err)
				return
			}
			conns[i] = c
		})
	}
	wg.Wait()
	// Closed before the readers are waited for (below); closeIdle skips
	// connections already closed.
	defer closeIdle(conns)
	if p := failed.Load(); p != nil {
		return Result{}, errorOf("idle clients", *p)
	}
	if err := ctx.Err(); err != nil {
		return Result{}, err
	}
	connectTime := time.Since(t0)
	fmt.Fprintf(r.cfg.Progress, "%s: %d connected in %v\n", s.Name(), n, connectTime.Round(time.Millisecond))

	// Readers: a PINGRESP is a delivery; the end of a connection before we
	// close it is an error.
	var readers sync.WaitGroup
	for _, c := range conns {
		readers.Go(func() { c.read(r, m) })
	}
	defer func() {
		closeIdle(conns)
		readers.Wait()
	}()

	// Each connection sends one PINGREQ during the measurement; the
	// pingers start at its beginning.
	var senders sync.WaitGroup
	senders.Go(func() {
		select {
		case <-m.stopped:
			return
		case <-ctx.Done():
			return
		case <-m.measuring:
		}
		step := r.cfg.Duration / time.Duration(n)
		next := time.Now()
		for _, c := range conns {
			if d := time.Until(next); d > time.Millisecond {
				select {
				case <-time.After(d):
				case <-m.stopped:
					return
				}
			}
			next = next.Add(step)
			_, ok := m.take()
			if !ok {
				return
			}
			if err := c.ping(r.now()); err != nil {
				m.fail(fmt.Errorf("ping %s: %w", c.id, err))
				continue
			}
			m.sent.Add(1)
			m.expected.Add(1)
		}
	})
	res := r.measure(ctx, s, m, &senders, 0)
	res.Conns, res.ConnectSeconds = n, connectTime.Seconds()
	res.CPUPerMsg, res.Rate = -1, 0
	if after, err := readProc(r.cfg.Pid); err == nil && before.rss > 0 {
		res.RSSBefore, res.RSS = before.rss, after.rss
		res.PerConn = float64(after.rss-before.rss) / float64(n)
	}
	return res, nil
}

// idleConn is one idle MQTT 5 client on a plain socket.
type idleConn struct {
	id      string
	nc      net.Conn
	mu      sync.Mutex // writes
	sentAt  atomic.Int64
	closing atomic.Bool
}

// dialIdle connects one idle client: CONNECT (clean start, the
// configured keep-alive and credentials) and its CONNACK.
func (r *runner) dialIdle(ctx context.Context, id string) (*idleConn, error) {
	d := net.Dialer{Timeout: r.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", r.cfg.Broker)
	if err != nil {
		return nil, err
	}
	c := &idleConn{id: id, nc: nc}
	if _, err := nc.Write(connectPacket(id, r.cfg.Username, r.cfg.Password, uint16(min(r.cfg.KeepAlive.Seconds(), 65535)))); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect %s: %w", id, err)
	}
	_ = nc.SetReadDeadline(time.Now().Add(r.cfg.Timeout))
	typ, body, err := readPacket(bufio.NewReaderSize(nc, 64))
	_ = nc.SetReadDeadline(time.Time{})
	switch {
	case err != nil:
		err = fmt.Errorf("connect %s: %w", id, err)
	case typ != 0x20 || len(body) < 2:
		err = fmt.Errorf("connect %s: packet type %#x instead of CONNACK", id, typ)
	case body[1] != 0:
		err = fmt.Errorf("connect %s: refused with reason code %#x", id, body[1])
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	return c, nil
}

func (c *idleConn) ping(now int64) error {
	c.sentAt.Store(now)
	c.mu.Lock()
	defer c.mu.Unlock()
	_, err := c.nc.Write([]byte{0xc0, 0})
	return err
}

// read reads the connection's packets until it ends: a PINGRESP completes
// the ping.
func (c *idleConn) read(r *runner, m *meter) {
	br := bufio.NewReaderSize(c.nc, 16)
	for {
		typ, _, err := readPacket(br)
		if err != nil {
			if !c.closing.Load() {
				m.fail(fmt.Errorf("idle client %s: connection lost: %w", c.id, err))
			}
			return
		}
		if typ == 0xd0 {
			m.lat.Record(time.Duration(r.now() - c.sentAt.Load()))
			m.delivered()
		}
	}
}

// closeIdle sends DISCONNECT on every connection and closes it.
func closeIdle(conns []*idleConn) {
	for _, c := range conns {
		if c == nil || c.closing.Swap(true) {
			continue
		}
		c.mu.Lock()
		_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.nc.Write([]byte{0xe0, 0})
		c.mu.Unlock()
		c.nc.Close()
	}
}

// connectPacket is an MQTT 5 CONNECT with clean start and no properties.
func connectPacket(id, user, password string, keepAlive uint16) []byte {
	var v []byte
	v = appendString(v, "MQTT")
	flags := byte(0x02)
	if user != "" {
		flags |= 0x80
	}
	if password != "" {
		flags |= 0x40
	}
	v = append(v, 5, flags)
	v = binary.BigEndian.AppendUint16(v, keepAlive)
	v = append(v, 0) // no properties
	v = appendString(v, id)
	if user != "" {
		v = appendString(v, user)
	}
	if password != "" {
		v = appendString(v, password)
	}
	return append(appendVarint([]byte{0x10}, len(v)), v...)
}

func appendString(b []byte, s string) []byte {
	b = binary.BigEndian.AppendUint16(b, uint16(len(s)))
	return append(b, s...)
}

func appendVarint(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}

// readPacket reads one MQTT packet: its type (the first byte's upper
// nibble, shifted back: 0x20 CONNACK, 0xd0 PINGRESP) and its body.
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	h, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mul := 0, 1
	for i := 0; ; i++ {
		d, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(d&0x7f) * mul
		if d&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("malformed remaining length")
		}
		mul *= 128
	}
	body := make([]byte, n)
	if _, err := io.ReadFull(r, body); err != nil {
		return 0, nil, err
	}
	return h & 0xf0, body, nil
}
