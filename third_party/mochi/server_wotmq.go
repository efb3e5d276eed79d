package mqtt

import "github.com/mochi-mqtt/server/v2/packets"

// copySharingPayload is pk.Copy(false) with the payload shared instead of
// copied. wotmq: publishToClient copied the payload for every subscriber
// (16 copies of each 1 KiB event for 16 consumers), though nothing writes
// to a payload once it is read: a packet read from a client owns its
// bytes (ReadPacket), and the hub's own publishes hand over payloads they
// no longer change (twin.Publisher).
func copySharingPayload(pk *packets.Packet) packets.Packet {
	payload := pk.Payload
	pk.Payload = nil
	out := pk.Copy(false)
	pk.Payload, out.Payload = payload, payload
	return out
}
