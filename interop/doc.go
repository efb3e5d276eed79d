// Package interop holds wotmq's interoperability checks with third-party
// Web of Things tools, run by its tests against a real hub started in
// process:
//
//   - consume.mjs: Eclipse node-wot consumes a twin from its TD alone, over
//     the HTTP forms (the first of every affordance) and, with formIndex,
//     over the MQTT forms.
//   - validate.mjs: the W3C TD playground validator and its assertion tests
//     check twin TDs and the hub TD.
//
// The npm packages are pinned in package.json and package-lock.json; `make
// test` installs them with `npm ci --prefix interop`. Without node or
// interop/node_modules the tests are skipped with the reason.
package interop
