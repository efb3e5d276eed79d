// Package homeassistant shows the hub's twins in Home Assistant: for every
// twin it publishes a retained device discovery config on
// {prefix}/device/{object ID}/config, generated from the twin's TD (Config),
// whose entities read and write the twin's own topics. Home Assistant's
// commands arrive as ordinary consumer requests without a ResponseTopic
// and go through the inbox as fire-and-forget requests.
//
// # Lifecycle
//
// A Bridge hears the twin TDs the core publishes (Core.Listen) and Home
// Assistant's birth message (Core.Tap on {prefix}/status): a new or
// changed TD publishes its config, a deleted Thing an empty retained
// config, the birth message every config again. The mapping from TD
// affordances to Home Assistant platforms, the account and the access
// rules Home Assistant needs are in docs/bridges.md.
package homeassistant
