// Package twin is the hub's core: the digital twins of the Things its
// agents expose, and the rules between agents and consumers, with no
// transport in it.
//
// # Messages
//
// A transport converts what a client publishes into a Message once, at
// its edge, and hands it to the core with the sender's identity and a
// ConnID; the core answers with a wire.Error (a code each transport maps)
// and publishes through a Publisher, which bypasses authorization.
//
// # State of the split
//
// The core's logic still lives in package broker while it is moved here
// (docs/architecture.md, "The split"): this package holds its vocabulary,
// Message, Property, ConnID and Publisher, which broker uses already, so
// that past the MQTT adapter's edge no Mochi packet is handled.
package twin
