// @wotmq/client: the JavaScript client of a wotmq hub, for browsers and
// Node, on MQTT.js over WebSocket. See README.md.

export { connect, Client, Subscription, defaults } from './client.js';
export { ConsumedThing, Invocation, TwinRef } from './consumer.js';
export { ExposedThing, Request } from './agent.js';
export {
  codes, WotError, NotFoundError, DeniedError, InvalidInputError, TimeoutError, ExpiredError, BusyError,
  OfflineError, CancelledError, AgentError, NoValueError, ClosedError, ConnectionError,
} from './errors.js';
export { topics, escapeLevel, unescapeLevel, matchFilter } from './topics.js';
