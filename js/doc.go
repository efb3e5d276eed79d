// Package js holds @wotmq/client, the JavaScript client of a wotmq hub
// (src/, index.d.ts, README.md beside this file): the same ES modules in
// browsers and Node, on MQTT.js over WebSocket. The Go package has only
// this comment and its tests, which run the client's own tests against a
// hub started in the test process:
//
//   - TestNode runs node --test over test/*.test.js (every API, reconnect
//     with replies in flight, errors) and checks both directions between the
//     JavaScript client and the Go SDK.
//   - TestBrowser loads test pages in headless Chromium (Debian's
//     /usr/bin/chromium, driven by playwright-core): a round trip through
//     the hub over WebSocket, and WebRTC DataChannels between the browser
//     and a Go twin.
//
// Each skips itself, saying why, when node, js/node_modules or chromium is
// missing; make js-deps installs them.
package js
