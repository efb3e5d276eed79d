// SPDX-License-Identifier: MIT
// SPDX-FileCopyrightText: 2023 mochi-mqtt, mochi-co
// SPDX-FileContributor: mochi-co

package mqtt

import (
	"sort"
	"sync"
	"sync/atomic"

	"github.com/mochi-mqtt/server/v2/packets"
)

// Inflight is a map of InflightMessage keyed on packet id.
type Inflight struct {
	sync.RWMutex
	internal            map[uint16]packets.Packet // internal contains the inflight packets
	order               map[uint16]uint64         // when each packet id was first set (wotmq patch: resend order)
	next                uint64                    // the next order number
	inbound             map[uint16]packets.Packet // the client's QoS 2 flows awaiting its PUBREL, by the client's packet id (wotmq patch)
	receiveQuota        int32                     // remaining inbound qos quota for flow control
	sendQuota           int32                     // remaining outbound qos quota for flow control
	maximumReceiveQuota int32                     // maximum allowed receive quota
	maximumSendQuota    int32                     // maximum allowed send quota
}

// NewInflights returns a new instance of an Inflight packets map.
func NewInflights() *Inflight {
	return &Inflight{
		internal: map[uint16]packets.Packet{},
		order:    map[uint16]uint64{},
		inbound:  map[uint16]packets.Packet{},
	}
}

// The client and the server each choose packet identifiers from a space of
// their own [MQTT-2.2.1]: a client may use an identifier the server has a
// delivery outstanding under. Mochi kept both in one map, so a client's
// SUBSCRIBE or UNSUBSCRIBE that happened to use such an identifier was
// refused with 0x91 (packet identifier in use), a client's QoS 1 PUBLISH
// deleted the server's delivery (never resent), and a client's QoS 2
// PUBLISH overwrote it (mochi-mqtt/server#519, #545). The wotmq patch keeps
// the client's flows apart: the map above holds the server's deliveries,
// inbound the client's (TestWotmqPacketIDSpaces).

// SetInbound records the state of a client's QoS 2 flow under the client's
// packet id. It returns true if the id was not in use.
func (i *Inflight) SetInbound(m packets.Packet) bool {
	i.Lock()
	defer i.Unlock()
	_, ok := i.inbound[m.PacketID]
	i.inbound[m.PacketID] = m
	return !ok
}

// GetInbound returns the state of a client's QoS 2 flow by the client's
// packet id.
func (i *Inflight) GetInbound(id uint16) (packets.Packet, bool) {
	i.RLock()
	defer i.RUnlock()
	m, ok := i.inbound[id]
	return m, ok
}

// DeleteInbound ends a client's QoS 2 flow. It returns true if it existed.
func (i *Inflight) DeleteInbound(id uint16) bool {
	i.Lock()
	defer i.Unlock()
	_, ok := i.inbound[id]
	delete(i.inbound, id)
	return ok
}

// InboundLen is the number of the client's QoS 2 flows awaiting its PUBREL.
func (i *Inflight) InboundLen() int {
	i.RLock()
	defer i.RUnlock()
	return len(i.inbound)
}

// TakeInbound removes and returns the client's QoS 2 flows.
func (i *Inflight) TakeInbound() []packets.Packet {
	i.Lock()
	defer i.Unlock()
	m := make([]packets.Packet, 0, len(i.inbound))
	for id, pk := range i.inbound {
		m = append(m, pk)
		delete(i.inbound, id)
	}
	return m
}

// Set adds or updates an inflight packet by packet id.
func (i *Inflight) Set(m packets.Packet) bool {
	i.Lock()
	defer i.Unlock()

	_, ok := i.internal[m.PacketID]
	i.internal[m.PacketID] = m
	if !ok {
		i.next++
		i.order[m.PacketID] = i.next
	}
	return !ok
}

// Get returns an inflight packet by packet id.
func (i *Inflight) Get(id uint16) (packets.Packet, bool) {
	i.RLock()
	defer i.RUnlock()

	if m, ok := i.internal[id]; ok {
		return m, true
	}

	return packets.Packet{}, false
}

// Len returns the size of the inflight messages map.
func (i *Inflight) Len() int {
	i.RLock()
	defer i.RUnlock()
	return len(i.internal)
}

// Clone returns a new instance of Inflight with the same message data.
// This is used when transferring inflights from a taken-over session.
func (i *Inflight) Clone() *Inflight {
	c := NewInflights()
	i.RLock()
	defer i.RUnlock()
	for k, v := range i.internal {
		c.internal[k] = v
	}
	for k, v := range i.order {
		c.order[k] = v
	}
	for k, v := range i.inbound {
		c.inbound[k] = v
	}
	c.next = i.next
	return c
}

// GetAll returns all the inflight messages in the order they were first
// set. (wotmq patch: Mochi sorted them by the low 16 bits of their creation
// time in seconds, with an unstable sort, so the messages queued for a
// session within one second were resent in random order, against
// [MQTT-4.6.0-6]; TestWotmqInflightOrder.)
func (i *Inflight) GetAll(immediate bool) []packets.Packet {
	i.RLock()
	defer i.RUnlock()
	return i.getAll(immediate)
}

// getAll is GetAll for a caller holding the lock.
func (i *Inflight) getAll(immediate bool) []packets.Packet {
	m := []packets.Packet{}
	for _, v := range i.internal {
		if !immediate || (immediate && v.Expiry < 0) {
			m = append(m, v)
		}
	}

	sort.Slice(m, func(a, b int) bool {
		return i.order[m[a].PacketID] < i.order[m[b].PacketID]
	})

	return m
}

// NextImmediate returns the next inflight packet which is indicated to be sent immediately.
// This typically occurs when the quota has been exhausted, and we need to wait until new quota
// is free to continue sending.
func (i *Inflight) NextImmediate() (packets.Packet, bool) {
	i.RLock()
	defer i.RUnlock()

	// getAll, not GetAll: a second read lock taken while a writer waits
	// deadlocks (wotmq patch).
	m := i.getAll(true)
	if len(m) > 0 {
		return m[0], true
	}

	return packets.Packet{}, false
}

// Delete removes an in-flight message from the map. Returns true if the message existed.
func (i *Inflight) Delete(id uint16) bool {
	i.Lock()
	defer i.Unlock()

	_, ok := i.internal[id]
	delete(i.internal, id)
	delete(i.order, id)

	return ok
}

// TakeRecieveQuota reduces the receive quota by 1.
func (i *Inflight) DecreaseReceiveQuota() {
	if atomic.LoadInt32(&i.receiveQuota) > 0 {
		atomic.AddInt32(&i.receiveQuota, -1)
	}
}

// TakeRecieveQuota increases the receive quota by 1.
func (i *Inflight) IncreaseReceiveQuota() {
	if atomic.LoadInt32(&i.receiveQuota) < atomic.LoadInt32(&i.maximumReceiveQuota) {
		atomic.AddInt32(&i.receiveQuota, 1)
	}
}

// ResetReceiveQuota resets the receive quota to the maximum allowed value.
func (i *Inflight) ResetReceiveQuota(n int32) {
	atomic.StoreInt32(&i.receiveQuota, n)
	atomic.StoreInt32(&i.maximumReceiveQuota, n)
}

// DecreaseSendQuota reduces the send quota by 1.
func (i *Inflight) DecreaseSendQuota() {
	if atomic.LoadInt32(&i.sendQuota) > 0 {
		atomic.AddInt32(&i.sendQuota, -1)
	}
}

// IncreaseSendQuota increases the send quota by 1.
func (i *Inflight) IncreaseSendQuota() {
	if atomic.LoadInt32(&i.sendQuota) < atomic.LoadInt32(&i.maximumSendQuota) {
		atomic.AddInt32(&i.sendQuota, 1)
	}
}

// ResetSendQuota resets the send quota to the maximum allowed value.
func (i *Inflight) ResetSendQuota(n int32) {
	atomic.StoreInt32(&i.sendQuota, n)
	atomic.StoreInt32(&i.maximumSendQuota, n)
}
