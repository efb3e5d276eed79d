// Package explorer is the twin explorer: web pages the hub serves on its
// HTTP listener at / (docs/explorer.md), to find, watch, write and invoke
// Things without writing code.
//
// # Design
//
// The pages are rendered on the server with html/template from embedded
// files (go:embed), with one small script of our own and no build step.
// The explorer sits in front of the HTTP binding (httpapi) on the same
// listener and passes every request outside /explorer/ on to it.
//
// One set of rules decides: a page reads a twin through the binding's
// handler, in process, as the signed-in account; lists that the binding
// has no endpoint for (Things with presence, agents and their queues)
// are read from the stores with authz.Decide per entry, the function the
// binding uses; writes, invocations and cancels from the page's script go
// to /explorer/api/..., which passes them to the binding with the
// account's token; account changes are twin.Core.Admin requests, exactly
// those of wotmq/admin. A control the account may not use is not shown,
// and the binding refuses it anyway.
//
// # Sessions and CSRF
//
// Signing in checks the password like any login (throttled), issues a
// token for SessionTTL and sets it as the binding's wotmq_token cookie
// (HttpOnly, SameSite=Strict). The binding accepts that cookie on event
// streams only, so the browser's EventSource reaches it directly, and no
// other request of the binding can be made with the cookie alone. Every
// state-changing request to the explorer must repeat a CSRF token (a
// random value in a SameSite=Strict cookie, sent back in a header or form
// field) and come from the same origin where the browser says. No token
// appears in a page URL. On a development hub (--dev), loopback browsers
// need not sign in, as loopback clients need no credentials there.
package explorer
