package broker

import (
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/twin"
)

// The edge: a Mochi packet becomes the core's message here, once, and the
// core's message a packet; past these two functions no packet is handled.

// fromPacket is the message a client's publish carries.
func fromPacket(pk *packets.Packet) *twin.Message {
	m := &twin.Message{
		Topic:           pk.TopicName,
		Payload:         pk.Payload,
		QoS:             pk.FixedHeader.Qos,
		Retain:          pk.FixedHeader.Retain,
		ResponseTopic:   pk.Properties.ResponseTopic,
		CorrelationData: pk.Properties.CorrelationData,
		Expiry:          pk.Properties.MessageExpiryInterval,
	}
	if len(pk.Properties.User) > 0 {
		m.User = make([]twin.Property, len(pk.Properties.User))
		for i, u := range pk.Properties.User {
			m.User[i] = twin.Property{Key: u.Key, Value: u.Val}
		}
	}
	return m
}

// toPacket is the PUBLISH packet that sends a message of the hub.
func toPacket(m twin.Message) packets.Packet {
	pk := packets.Packet{
		FixedHeader: packets.FixedHeader{Type: packets.Publish, Qos: m.QoS, Retain: m.Retain},
		TopicName:   m.Topic,
		Payload:     m.Payload,
		Properties: packets.Properties{
			ResponseTopic:         m.ResponseTopic,
			CorrelationData:       m.CorrelationData,
			MessageExpiryInterval: m.Expiry,
		},
	}
	if len(m.User) > 0 {
		pk.Properties.User = make([]packets.UserProperty, len(m.User))
		for i, u := range m.User {
			pk.Properties.User[i] = packets.UserProperty{Key: u.Key, Val: u.Value}
		}
	}
	return pk
}
