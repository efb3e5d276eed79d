// Package js holds the JavaScript example, consumer.mjs: a Node (or
// browser) consumer of a wotmq hub with MQTT.js over WebSocket, driven by
// the twin TD's forms. See README.md beside this file. The Go package has
// only this comment and js_test.go, which runs consumer.mjs against a hub
// started in the test process.
package js
