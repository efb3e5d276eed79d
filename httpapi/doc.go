// Package httpapi is the hub's HTTP binding: every twin over the WoT HTTP
// binding with event streams as Server-Sent Events, the WoT Discovery
// directory API at /.well-known/wot and /things with its change feed, and
// the DNS-SD advertisement. See docs/http.md.
//
// # Over the core
//
// A Server serves a twin.Core through its exported API: Submit, Watch
// and Cancel for actions and property writes, Listen for the hub's
// publishes (event streams, the directory feed), RegisterTD, DeleteThing,
// TwinTD and HubTD for the Discovery API. It reads the stores (directory,
// inbox, outbox) for values and history, and asks authz for every
// request. It adds its forms to the TDs the core builds: Forms is the
// twin.Binding that package hub hands the core's Start. It links no MQTT
// library (TestDependencies).
//
// # Running
//
// Package hub builds it: New with Options, Listen to bind (form hrefs
// name the bound port), Serve once the core restored its state, Close
// to end event streams and waiting requests and wait for the handlers.
// AccountChanged ends the event streams an account or access list change
// voids. A write must fit the disk reserve (Reserve), which the hub owns.
//
// # Errors
//
// Every refusal is an RFC 9457 problem (Problem) whose code is the wire
// error code and whose status is the code's HTTP status (wire.Code).
package httpapi
