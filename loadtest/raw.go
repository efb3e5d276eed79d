package loadtest

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// rawConn is an MQTT 5 client of the event shapes on a plain socket: it
// speaks only what publishers and consumers of events need (CONNECT,
// SUBSCRIBE, PUBLISH at QoS 0 and 1, PUBACK, DISCONNECT), reads through a
// large buffer, writes QoS 0 publishes and its PUBACKs in batches, and
// allocates nothing per message it receives. paho's client costs several
// times more CPU per message, and the load tool shares the machine's CPUs
// with the broker it measures.
type rawConn struct {
	id   string
	name string // identity: the user name, else the client ID
	nc   net.Conn

	wmu sync.Mutex // w
	w   *bufio.Writer

	// acks receives the reason code of each PUBACK (one QoS 1 publish in
	// flight at a time per waiter; packet IDs tell them apart).
	ackMu   sync.Mutex
	waiting map[uint16]chan pubAck
	nextID  uint16

	closing atomic.Bool
	done    chan struct{} // closed when the reader ends
	things  []string      // Things it registered (TargetWotmq)
}

type pubAck struct {
	code   byte
	reason string
}

// rawPublish is a received PUBLISH: views into the read buffer, valid
// only during the callback.
type rawPublish struct {
	topic   []byte
	props   []byte // the properties, without their length
	payload []byte
}

// dialRaw connects a raw client; onMsg (may be nil) gets every PUBLISH it
// receives, on its reader goroutine. A connection lost before close is
// counted on m.
func (r *runner) dialRaw(ctx context.Context, id string, m *meter, onMsg func(rawPublish)) (*rawConn, error) {
	d := net.Dialer{Timeout: r.cfg.Timeout}
	nc, err := d.DialContext(ctx, "tcp", r.cfg.Broker)
	if err != nil {
		return nil, err
	}
	c := &rawConn{id: id, name: id, nc: nc, w: bufio.NewWriterSize(nc, 32<<10), waiting: map[uint16]chan pubAck{}, done: make(chan struct{})}
	if r.cfg.Username != "" {
		c.name = r.cfg.Username
	}
	if _, err := nc.Write(connectPacket(id, r.cfg.Username, r.cfg.Password, uint16(min(r.cfg.KeepAlive.Seconds(), 65535)))); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect %s: %w", id, err)
	}
	br := bufio.NewReaderSize(nc, 64<<10)
	_ = nc.SetReadDeadline(time.Now().Add(r.cfg.Timeout))
	typ, body, err := readPacket(br)
	_ = nc.SetReadDeadline(time.Time{})
	switch {
	case err != nil:
		err = fmt.Errorf("connect %s: %w", id, err)
	case typ != 0x20 || len(body) < 2:
		err = fmt.Errorf("connect %s: packet type %#x instead of CONNACK", id, typ)
	case body[1] != 0:
		err = fmt.Errorf("connect %s: refused with reason code %#x%s", id, body[1], reasonString(body[2:]))
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	go c.read(br, m, onMsg)
	return c, nil
}

// read handles the packets the broker sends until the connection ends.
func (c *rawConn) read(br *bufio.Reader, m *meter, onMsg func(rawPublish)) {
	defer close(c.done)
	buf := make([]byte, 0, 2048)
	fail := func(err error) {
		if !c.closing.Load() && m != nil {
			m.fail(fmt.Errorf("client %s: %w", c.id, err))
		}
		c.ackMu.Lock()
		for id, ch := range c.waiting {
			ch <- pubAck{code: 0x80, reason: "connection lost"}
			delete(c.waiting, id)
		}
		c.ackMu.Unlock()
	}
	for {
		h, err := br.ReadByte()
		if err != nil {
			fail(err)
			return
		}
		n, err := readVarint(br)
		if err != nil {
			fail(err)
			return
		}
		if cap(buf) < n {
			buf = make([]byte, n)
		}
		body := buf[:n]
		if _, err := io.ReadFull(br, body); err != nil {
			fail(err)
			return
		}
		switch h & 0xf0 {
		case 0x30: // PUBLISH
			qos := (h >> 1) & 3
			p, id, err := parsePublish(body, qos)
			if err != nil {
				fail(err)
				return
			}
			if onMsg != nil {
				onMsg(p)
			}
			if qos > 0 {
				c.wmu.Lock()
				_, _ = c.w.Write([]byte{0x40, 2, byte(id >> 8), byte(id)})
				// Flush once nothing more is buffered to read: the
				// PUBACKs of a burst go in one write.
				if br.Buffered() == 0 {
					_ = c.w.Flush()
				}
				c.wmu.Unlock()
			}
		case 0x40: // PUBACK
			if len(body) < 2 {
				fail(errors.New("short PUBACK"))
				return
			}
			ack := pubAck{}
			if len(body) > 2 {
				ack.code = body[2]
				if ack.code >= 0x80 {
					ack.reason = reasonString(body[3:])
				}
			}
			c.settle(binary.BigEndian.Uint16(body), ack)
		case 0x90: // SUBACK: packet ID, properties, reason codes
			if len(body) < 2 {
				fail(errors.New("short SUBACK"))
				return
			}
			ack := pubAck{code: 0x80, reason: "no reason code"}
			if n, k, ok := varint(body[2:]); ok && len(body) > 2+k+n {
				ack = pubAck{code: body[2+k+n]}
				if ack.code >= 0x80 {
					ack.reason = reasonString(body[2:])
				}
			}
			c.settle(binary.BigEndian.Uint16(body), ack)
		case 0xe0: // DISCONNECT
			code := byte(0)
			if len(body) > 0 {
				code = body[0]
			}
			fail(fmt.Errorf("disconnected by the broker: reason %#x", code))
			return
		}
	}
}

// subscribe subscribes to filters at qos and waits for the SUBACK.
func (c *rawConn) subscribe(timeout time.Duration, qos byte, filters ...string) error {
	// The reader hands the SUBACK's first reason code over like a
	// PUBACK's, by packet ID.
	id, ch := c.expect()
	var v []byte
	v = binary.BigEndian.AppendUint16(v, id)
	v = append(v, 0) // no properties
	for _, f := range filters {
		v = appendString(v, f)
		v = append(v, qos)
	}
	c.wmu.Lock()
	_, _ = c.w.Write(appendVarint([]byte{0x82}, len(v)))
	_, _ = c.w.Write(v)
	err := c.w.Flush()
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("subscribe %s: %w", c.id, err)
	}
	return c.await(id, ch, timeout, "subscribe to "+filters[0])
}

// settle hands an acknowledgement to whoever waits for packet ID id.
func (c *rawConn) settle(id uint16, ack pubAck) {
	c.ackMu.Lock()
	if ch, ok := c.waiting[id]; ok {
		delete(c.waiting, id)
		ch <- ack
	}
	c.ackMu.Unlock()
}

// expect reserves a packet ID and the channel its acknowledgement comes
// on.
func (c *rawConn) expect() (uint16, chan pubAck) {
	ch := make(chan pubAck, 1)
	c.ackMu.Lock()
	defer c.ackMu.Unlock()
	for {
		c.nextID++
		if c.nextID != 0 && c.waiting[c.nextID] == nil {
			break
		}
	}
	c.waiting[c.nextID] = ch
	return c.nextID, ch
}

func (c *rawConn) await(id uint16, ch chan pubAck, timeout time.Duration, what string) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case ack := <-ch:
		if ack.code >= 0x80 {
			return fmt.Errorf("%s %s: refused (%#x) %s", c.id, what, ack.code, ack.reason)
		}
		return nil
	case <-t.C:
		c.ackMu.Lock()
		delete(c.waiting, id)
		c.ackMu.Unlock()
		return fmt.Errorf("%s %s: no acknowledgement within %v", c.id, what, timeout)
	}
}

// publish sends a PUBLISH. At QoS 1 it waits for the PUBACK; at QoS 0 it
// only buffers it, and writes the buffer once full or on flush: a
// publisher that waits for nothing.
func (c *rawConn) publish(timeout time.Duration, qos byte, topic string, payload []byte) error {
	return c.publishProps(timeout, qos, topic, nil, payload)
}

// publishProps is publish with properties (encoded, without their
// length; see appendProp).
func (c *rawConn) publishProps(timeout time.Duration, qos byte, topic string, props, payload []byte) error {
	var id uint16
	var ch chan pubAck
	if qos > 0 {
		id, ch = c.expect()
	}
	var plen [4]byte
	pl := appendVarint(plen[:0], len(props))
	n := 2 + len(topic) + len(pl) + len(props) + len(payload)
	if qos > 0 {
		n += 2
	}
	var hdr [5]byte
	h := appendVarint(append(hdr[:0], 0x30|qos<<1), n)
	c.wmu.Lock()
	_, _ = c.w.Write(h)
	_, _ = c.w.Write([]byte{byte(len(topic) >> 8), byte(len(topic))})
	_, _ = c.w.WriteString(topic)
	if qos > 0 {
		_, _ = c.w.Write([]byte{byte(id >> 8), byte(id)})
	}
	_, _ = c.w.Write(pl)
	_, _ = c.w.Write(props)
	_, err := c.w.Write(payload)
	if qos > 0 && err == nil {
		err = c.w.Flush()
	}
	c.wmu.Unlock()
	if err != nil {
		return fmt.Errorf("publish %s on %s: %w", c.id, topic, err)
	}
	if qos == 0 {
		return nil
	}
	return c.await(id, ch, timeout, "publish on "+topic)
}

// buffered is how many bytes wait in the write buffer.
func (c *rawConn) buffered() int {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.w.Buffered()
}

// flush writes what is buffered.
func (c *rawConn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.w.Flush()
}

// close sends DISCONNECT and closes the socket.
func (c *rawConn) close() {
	if c == nil || c.closing.Swap(true) {
		return
	}
	c.wmu.Lock()
	_ = c.nc.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.w.Write([]byte{0xe0, 0})
	_ = c.w.Flush()
	c.wmu.Unlock()
	c.nc.Close()
	<-c.done
}

// parsePublish reads a PUBLISH body at qos: topic, packet ID, payload
// (properties skipped).
func parsePublish(b []byte, qos byte) (rawPublish, uint16, error) {
	bad := errors.New("malformed PUBLISH")
	if len(b) < 2 {
		return rawPublish{}, 0, bad
	}
	tl := int(binary.BigEndian.Uint16(b))
	if len(b) < 2+tl {
		return rawPublish{}, 0, bad
	}
	p := rawPublish{topic: b[2 : 2+tl]}
	b = b[2+tl:]
	var id uint16
	if qos > 0 {
		if len(b) < 2 {
			return rawPublish{}, 0, bad
		}
		id = binary.BigEndian.Uint16(b)
		b = b[2:]
	}
	pl, k, ok := varint(b)
	if !ok || len(b) < k+pl {
		return rawPublish{}, 0, bad
	}
	p.props, p.payload = b[k:k+pl], b[k+pl:]
	return p, id, nil
}

// reasonString finds the Reason String property (0x1f) in the
// properties at the start of b; "" when there is none.
func reasonString(b []byte) string {
	n, k, ok := varint(b)
	if !ok || len(b) < k+n {
		return ""
	}
	props := b[k : k+n]
	str := func() (string, bool) {
		if len(props) < 2 || len(props) < 2+int(binary.BigEndian.Uint16(props)) {
			return "", false
		}
		l := int(binary.BigEndian.Uint16(props))
		v := string(props[2 : 2+l])
		props = props[2+l:]
		return v, true
	}
	for len(props) > 0 {
		id := props[0]
		props = props[1:]
		switch id {
		case 0x1f: // Reason String
			v, ok := str()
			if !ok {
				return ""
			}
			return "(" + strings.ToValidUTF8(v, "?") + ")"
		case 0x26: // User Property: two strings
			if _, ok := str(); !ok {
				return ""
			}
			if _, ok := str(); !ok {
				return ""
			}
		default: // no other property of an error acknowledgement
			return ""
		}
	}
	return ""
}

func varint(b []byte) (n, size int, ok bool) {
	mul := 1
	for i := 0; i < len(b) && i < 4; i++ {
		n += int(b[i]&0x7f) * mul
		if b[i]&0x80 == 0 {
			return n, i + 1, true
		}
		mul *= 128
	}
	return 0, 0, false
}

func readVarint(r *bufio.Reader) (int, error) {
	n, mul := 0, 1
	for i := 0; i < 4; i++ {
		d, err := r.ReadByte()
		if err != nil {
			return 0, err
		}
		n += int(d&0x7f) * mul
		if d&0x80 == 0 {
			return n, nil
		}
		mul *= 128
	}
	return 0, errors.New("malformed remaining length")
}

// MQTT 5 property identifiers the load tool writes or reads.
const (
	propResponseTopic   = 0x08
	propCorrelationData = 0x09
	propUser            = 0x26
)

// appendProp appends a string or binary property (both a two-byte length
// and the bytes).
func appendProp(b []byte, id byte, v []byte) []byte {
	b = append(b, id, byte(len(v)>>8), byte(len(v)))
	return append(b, v...)
}

// appendUserProp appends a User Property.
func appendUserProp(b []byte, key, value string) []byte {
	b = append(b, propUser)
	b = appendString(b, key)
	return appendString(b, value)
}

// propSizes is the encoding of each MQTT 5 property: a fixed size in
// bytes, or -1 a two-byte length and data (string, binary), -2 two of
// them (User Property), -3 a variable byte integer.
var propSizes = map[byte]int{
	0x01: 1, 0x02: 4, 0x03: -1, 0x08: -1, 0x09: -1, 0x0b: -3, 0x11: 4, 0x12: -1, 0x13: 2,
	0x15: -1, 0x16: -1, 0x17: 1, 0x18: 4, 0x19: 1, 0x1a: -1, 0x1c: -1, 0x1f: -1, 0x21: 2,
	0x22: 2, 0x23: 2, 0x24: 1, 0x25: 1, 0x26: -2, 0x27: 4, 0x28: 1, 0x29: 1, 0x2a: 1,
}

// walkProps calls fn for every property in props with its value (the
// bytes of a string or binary; key and value of a User Property), until
// fn returns false. It reports whether props were well formed.
func walkProps(props []byte, fn func(id byte, v, v2 []byte) bool) bool {
	lv := func() ([]byte, bool) {
		if len(props) < 2 {
			return nil, false
		}
		l := int(binary.BigEndian.Uint16(props))
		if len(props) < 2+l {
			return nil, false
		}
		v := props[2 : 2+l]
		props = props[2+l:]
		return v, true
	}
	for len(props) > 0 {
		id := props[0]
		props = props[1:]
		size, known := propSizes[id]
		var v, v2 []byte
		ok := true
		switch {
		case !known:
			return false
		case size > 0:
			if len(props) < size {
				return false
			}
			v, props = props[:size], props[size:]
		case size == -1:
			v, ok = lv()
		case size == -2:
			if v, ok = lv(); ok {
				v2, ok = lv()
			}
		case size == -3:
			_, k, vok := varint(props)
			if !vok {
				return false
			}
			v, props = props[:k], props[k:]
		}
		if !ok {
			return false
		}
		if !fn(id, v, v2) {
			return true
		}
	}
	return true
}
