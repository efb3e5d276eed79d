// Package homie shows the hub's twins as Homie 5 devices: for every twin
// the hub publishes homie/5/{device}/$description (generated from the
// TD, Describe), $state (from the Thing's presence) and the property
// values and events as Homie's plain strings (ToHomie); a controller's
// publish on homie/5/{device}/{node}/{property}/set becomes a request of
// the twin (FromHomie, then Core.Submit as the controller, decided by its
// role like a publish on the twin's own topic).
//
// # IDs
//
// DeviceID gives every Thing ID a stable Homie ID (a-z, 0-9 and -); the
// mapping and its datatypes are in docs/bridges.md.
package homie
