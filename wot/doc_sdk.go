// # Client SDK
//
// [Connect] opens a [Client] to a hub (mqtt://, mqtts://, ws:// or wss://,
// with credentials). One Client may be an agent, a consumer, or both, as a
// PhyStack twin instance is.
//
// # Agents
//
// An agent exposes Things: [Client.Produce] takes a TD (from [NewThing] or
// td.Parse), [ExposedThing.HandleAction] and [ExposedThing.HandleWrite]
// register handlers, [ExposedThing.Expose] publishes the TD and starts the
// requests. [ExposedThing.PublishEvent] emits events,
// [ExposedThing.UpdateProperty] reports values (the reported state) and
// [ExposedThing.SetPresence] a device's presence; the Stamped variants
// ([ExposedThing.PublishEventStamped]) add when a value happened and a
// sequence number that makes a repeated publish count once. A handler reports
// progress with [Request.Progress] (status running) or [Request.Waiting],
// and returns the output or an error; a [*Error] keeps its code. The hub
// delivers at least once: a request delivered again while it runs, or
// after it finished, is not run twice.
//
// # Consumers
//
// [Client.Things] and [Client.WatchThings] read the directory;
// [Client.Thing] returns a [ConsumedThing] built from the twin TD, whose
// methods use the topics of the TD's forms: ReadProperty, ObserveProperty,
// WriteProperty, SubscribeEvent, InvokeAction (blocks until the outcome,
// 10 s by default), InvokeActionAsync (streams the statuses), Emit (a
// fire-and-forget request), QueryAction, CancelAction, History,
// ObservePresence and ObserveDesired.
//
// # Errors
//
// Errors wrap a sentinel ([ErrNotFound], [ErrDenied], [ErrInvalidInput],
// [ErrTimeout], [ErrExpired], [ErrBusy], ...) for errors.Is and, when the
// hub or an agent reported them, the [*Error] with its code for errors.As.
//
// # Concurrency and back-pressure
//
// Every method may be called from any goroutine. The Client has one paho
// message handler, which never runs application code: replies go to the
// calls waiting for them (registered before the request is published, and
// removed on their outcome, timeout or cancellation), requests to one
// goroutine each, and subscription messages to one queue and goroutine per
// [Subscription]. A subscription whose handler falls Options.QueueSize
// messages behind drops the newest and counts them
// ([Subscription.Dropped]); an [Invocation] keeps 32 status updates for a
// slow reader and never drops the final one.
//
// # Real-time channels
//
// Package wot/rtc opens WebRTC DataChannels between a consumer and the
// agent of a Thing, signalled through the hub ([ExposedThing.HandleSignals]
// and [Client.SendSignal] carry the signalling; docs/channels.md). It is a
// package of its own so that binaries without channels do not link pion.
//
// # Reconnection
//
// The Client reconnects with exponential backoff and jitter. On every new
// connection it subscribes again to everything it had subscribed to (with
// the current retained values) and publishes the TD of its exposed Things
// again; Options.OnConnect tells when that is done. Calls made while the
// connection is down wait for it within their context.
package wot
