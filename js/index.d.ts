// Types of @wotmq/client (hand-written; the code is plain ES modules in src/).

/** Options of connect(). Every one is optional. */
export interface ClientOptions {
  /** MQTT client ID; a random "wot-..." when absent. */
  clientId?: string;
  /** MQTT credentials; password may be an access token (wotmq token). */
  username?: string;
  password?: string;
  /**
   * Who the hub takes this client to be (its agent ID and the owner of
   * replies/{accountId}/{clientId}): by default the username, else the
   * subject of a token password, else the client ID.
   */
  accountId?: string;
  /** Bounds every call (and the first connection) without a timeout of its own, in ms; 10 000 by default. */
  timeout?: number;
  /** MQTT keep-alive in seconds; 30 by default. */
  keepalive?: number;
  /**
   * Seconds the hub keeps this client's session (subscriptions and queued
   * replies, events and requests) after the connection drops; 300 by
   * default, 0 for none (replies then are recovered from status records).
   */
  sessionExpiry?: number;
  /** Wait between reconnection attempts, in ms; 1 000 by default. */
  reconnectPeriod?: number;
  /** Receives connection events and problems; silent when absent. */
  logger?: Logger;
  /** Passed to MQTT.js's connect as they are (e.g. wsOptions, ca). */
  mqttOptions?: Record<string, unknown>;
}

export interface Logger {
  debug(...args: unknown[]): void;
  info(...args: unknown[]): void;
  warn(...args: unknown[]): void;
  error(...args: unknown[]): void;
}

/** Options of a call. */
export interface CallOptions {
  /** In ms; the client's timeout (10 s) when absent. */
  timeout?: number;
}

/** Options of a request that waits for an outcome. */
export interface RequestOptions extends CallOptions {
  /** Stops waiting (the call rejects with CancelledError); the request itself goes on: see cancelAction. */
  signal?: AbortSignal;
  /** Gets every status: pending, delivered, running (value: progress), waiting, then completed or failed. */
  onStatus?: (u: ActionUpdate) => void;
}

/** A received message: an event, a property value, a TD, a presence record... */
export interface Message {
  topic: string;
  /** What the topic is when it is a wotmq topic ('property', 'event', 'td', 'presence', ...), else ''. */
  kind: string;
  thingId: string;
  /** The affordance's name, for property and event topics. */
  name: string;
  /** The payload parsed as JSON (undefined when empty or not JSON). */
  value: unknown;
  /** The payload as text. */
  text: string;
  /** A retained message sent because of a new subscription: the current value rather than a change. */
  retained: boolean;
  /** Who published it (the hub's stamp). */
  sender: string;
  /** When the hub accepted it. */
  time?: Date;
  userProperties: Record<string, string | string[]>;
}

export type Status = 'pending' | 'delivered' | 'running' | 'waiting' | 'completed' | 'failed';

/** A status of a request. */
export interface ActionUpdate {
  status: Status;
  /** The hub's ID of the request. */
  actionId: string;
  time?: Date;
  /** Progress on running, the output on completed. */
  value?: unknown;
  /** On failed. */
  error?: WotError;
}

/** The status record of a request (queryaction, cancelAction, actionHistory). */
export interface ActionStatus {
  id: string;
  thingID: string;
  name: string;
  op: string;
  status: Status;
  input?: unknown;
  output?: unknown;
  error?: { code: string; message: string };
  sender: string;
  requested: string;
  updated: string;
  expires?: string;
}

export interface HistoryQuery {
  from?: string | Date;
  to?: string | Date;
  /** 1 to 1000; 100 by default. */
  limit?: number;
  cursor?: string;
  /** The latest value of every matching event and property instead. */
  latest?: boolean;
}

export interface HistoryItem {
  kind: 'event' | 'property';
  name: string;
  value: unknown;
  time: string;
  sender: string;
  cursor: string;
}

export interface HistoryPage {
  items: HistoryItem[];
  /** The cursor of the next page; absent on the last. */
  next?: string;
}

export interface PresenceState {
  state: 'online' | 'offline' | 'lost' | 'sleeping';
  since: string;
  seq: number;
}

export interface DesiredState {
  value: unknown;
  time: string;
  version: number;
  actionID: string;
}

export interface DeltaEntry {
  desired: unknown;
  reported: unknown;
  version: number;
  desiredTime: string;
  reportedTime: string;
}

/** A Thing Description (only what the client reads is typed). */
export interface ThingDescription {
  id: string;
  title: string;
  properties?: Record<string, any>;
  actions?: Record<string, any>;
  events?: Record<string, any>;
  forms?: any[];
  [member: string]: unknown;
}

/** PhyStack's TwinMessageResult: the outcome of a message with a callback. */
export interface TwinMessageResult {
  status: 'success' | 'error';
  data?: unknown;
  message?: string;
  /** The hub's error code, on error. */
  code?: string;
  error?: WotError;
}

export declare const defaults: {
  readonly url: string;
  readonly timeout: number;
  readonly keepalive: number;
  readonly sessionExpiry: number;
  readonly reconnectPeriod: number;
};

/**
 * Connects to a hub (ws://host:9001 by default, the hub's WebSocket
 * listener; mqtt:// works in Node) and resolves once the connection is up.
 * Rejects with DeniedError when the hub refuses the credentials.
 */
/**
 * Connects to a hub: url is ws://host:port (wss://, or mqtt:// in Node), or a
 * list of them (a cluster's nodes), used in turn whenever a connection fails.
 */
export declare function connect(url?: string | string[], options?: ClientOptions): Promise<Client>;

export declare class Subscription {
  readonly filter: string;
  stop(): Promise<void>;
}

export declare class Client {
  /** The hub's URL (the first of a list). */
  readonly url: string;
  /** Every hub URL the client may use, in turn. */
  readonly urls: string[];
  readonly clientId: string;
  readonly accountId: string;
  /** The ResponseTopic of this client's requests. */
  readonly repliesTopic: string;
  /** Whether the connection is up and restored. */
  readonly connected: boolean;
  /** 'connect': each time a connection is up and restored; 'offline': each time it drops. */
  on(event: 'connect' | 'offline', fn: () => void): this;
  off(event: 'connect' | 'offline', fn: () => void): this;

  /** The twin TD of every Thing in the directory, sorted by ID. */
  things(opts?: CallOptions): Promise<ThingDescription[]>;
  /** Every twin TD, then every change (a deleted Thing with null). */
  watchThings(fn: (id: string, td: ThingDescription | null) => void, opts?: CallOptions): Promise<Subscription>;
  /** The consumed Thing, from its twin TD; NotFoundError for an unknown Thing. */
  thing(id: string, opts?: CallOptions): Promise<ConsumedThing>;
  /** The consumed Thing of a twin TD obtained otherwise. */
  consume(td: ThingDescription): ConsumedThing;
  /** A raw topic filter; the retained messages first. */
  subscribe(filter: string, handler: (m: Message) => void, opts?: CallOptions): Promise<Subscription>;
  /** PhyStack-style handle of a Thing by ID. */
  to(id: string): TwinRef;
  /** Prepares a Thing for exposing with this client as its agent. */
  produce(td: ThingDescription): ExposedThing;
  /**
   * Disconnects once the answers of handlers that finished went out (at
   * most 2 s); waiting calls reject with ClosedError. Publishes the hub
   * has not acknowledged by then, or at once while the connection is
   * down, are given up: close() always ends.
   */
  close(): Promise<void>;
}

export declare class ConsumedThing {
  readonly id: string;
  readonly td: ThingDescription;
  /** NoValueError when it has no value yet. */
  readProperty(name: string, opts?: CallOptions): Promise<unknown>;
  readAllProperties(opts?: CallOptions): Promise<Record<string, unknown>>;
  observeProperty(name: string, fn: (value: unknown, m: Message) => void, opts?: CallOptions): Promise<Subscription>;
  observeAllProperties(fn: (name: string, value: unknown, m: Message) => void, opts?: CallOptions): Promise<Subscription>;
  /** Resolves once the agent applied the write. */
  writeProperty(name: string, value: unknown, opts?: RequestOptions): Promise<void>;
  subscribeEvent(name: string, fn: (data: unknown, m: Message) => void, opts?: CallOptions): Promise<Subscription>;
  subscribeAllEvents(fn: (name: string, data: unknown, m: Message) => void, opts?: CallOptions): Promise<Subscription>;
  /** Resolves with the output; rejects with the failure, or TimeoutError after opts.timeout (10 s). */
  invokeAction(name: string, input?: unknown, opts?: RequestOptions): Promise<unknown>;
  /** Resolves once the hub stored the request (its first status). */
  invokeActionAsync(name: string, input?: unknown, opts?: Omit<RequestOptions, 'onStatus'>): Promise<Invocation>;
  /** A fire-and-forget request; resolves once the hub stored it. */
  emit(name: string, input?: unknown, opts?: CallOptions): Promise<void>;
  /** The newest request's status record; NoValueError when never invoked. */
  queryAction(name: string, opts?: CallOptions): Promise<ActionStatus>;
  /** The request's status record after the cancel (the newest unfinished one without actionId). */
  cancelAction(name: string, actionId?: string, opts?: CallOptions): Promise<ActionStatus>;
  /** Kept outcomes, newest first. */
  actionHistory(name: string, opts?: CallOptions): Promise<ActionStatus[]>;
  history(query?: HistoryQuery, opts?: CallOptions): Promise<HistoryPage>;
  eventHistory(name: string, query?: HistoryQuery, opts?: CallOptions): Promise<HistoryPage>;
  propertyHistory(name: string, query?: HistoryQuery, opts?: CallOptions): Promise<HistoryPage>;
  observePresence(fn: (p: PresenceState) => void, opts?: CallOptions): Promise<Subscription>;
  /** null when the desired state ends. */
  observeDesired(name: string, fn: (d: DesiredState | null) => void, opts?: CallOptions): Promise<Subscription>;
  observeDelta(fn: (d: Record<string, DeltaEntry>) => void, opts?: CallOptions): Promise<Subscription>;
}

export declare class Invocation {
  readonly name: string;
  /** '' until a status told it. */
  readonly actionId: string;
  /** Every status in order, ending after completed or failed. */
  updates(): AsyncIterableIterator<ActionUpdate>;
  /** The output; rejects with the failure. */
  result(): Promise<unknown>;
  cancel(opts?: CallOptions): Promise<ActionStatus>;
}

export declare class TwinRef {
  readonly id: string;
  /** A fire-and-forget message to the action `type`. */
  emit(type: string, data?: unknown, opts?: CallOptions): Promise<void>;
  /** The action `type`, its result to the callback (and the promise) within opts.timeout. */
  emit(type: string, data: unknown, callback: (r: TwinMessageResult) => void, opts?: CallOptions): Promise<TwinMessageResult>;
  /** The action `type`; never rejects for a failure the hub or the agent reported. */
  request(type: string, data?: unknown, opts?: RequestOptions): Promise<TwinMessageResult>;
  /** Every event `type` of the Thing. */
  on(type: string, fn: (data: unknown, m: Message) => void, opts?: CallOptions): Promise<Subscription>;
  thing(opts?: CallOptions): Promise<ConsumedThing>;
}

export declare class Request {
  readonly op: 'invokeaction' | 'writeproperty';
  readonly thingId: string;
  readonly name: string;
  readonly actionId: string;
  /** The consumer, as the hub authenticated it. */
  readonly sender: string;
  readonly time?: Date;
  /** Earlier deliveries of the same request. */
  readonly redelivered: number;
  readonly expires?: Date;
  readonly input: unknown;
  readonly text: string;
  /** Aborted when the request is cancelled, expires, or the client closes. */
  readonly signal: AbortSignal;
  /** Status running, with optional progress. */
  progress(value?: unknown): Promise<void>;
  /** Status waiting: the device behind the agent is asleep or away. */
  waiting(detail?: unknown): Promise<void>;
}

/** The answer of a PhyStack-style handler: a TwinMessageResult, or any other value as the data of a success. */
export type Respond = (result: TwinMessageResult | unknown) => void;

export declare class ExposedThing {
  readonly id: string;
  readonly td: ThingDescription;
  readonly exposed: boolean;
  /** The output is what the handler returns; a thrown WotError keeps its code. */
  handleAction(name: string, handler: (input: unknown, req: Request) => unknown): this;
  /** Returns the value to report (undefined: the value asked for). */
  handleWrite(name: string, handler: (value: unknown, req: Request) => unknown): this;
  /** PhyStack's handler: respond({status, data|message}); a handler without a respond parameter completes with its return value. */
  on(type: string, handler: (data: unknown, respond: Respond, req: Request) => unknown): this;
  expose(opts?: CallOptions): Promise<void>;
  destroy(opts?: CallOptions): Promise<void>;
  publishEvent(name: string, data?: unknown, opts?: CallOptions): Promise<void>;
  /** PhyStack's broadcast: publishEvent. */
  emit(type: string, data?: unknown, opts?: CallOptions): Promise<void>;
  updateProperty(name: string, value: unknown, opts?: CallOptions): Promise<void>;
  updateProperties(values: Record<string, unknown>, opts?: CallOptions): Promise<void>;
  setPresence(state: 'online' | 'offline' | 'lost' | 'sleeping', opts?: CallOptions): Promise<void>;
}

/** The hub's error codes. */
export declare const codes: {
  readonly invalidTD: 'invalid_td';
  readonly invalidTopic: 'invalid_topic';
  readonly invalidPayload: 'invalid_payload';
  readonly unknownThing: 'unknown_thing';
  readonly unknownAffordance: 'unknown_affordance';
  readonly denied: 'denied';
  readonly expired: 'expired';
  readonly offline: 'offline';
  readonly busy: 'busy';
  readonly superseded: 'superseded';
  readonly quota: 'quota';
  readonly cancelled: 'cancelled';
  readonly agentError: 'agent_error';
  readonly timeout: 'timeout';
  readonly internal: 'internal';
  readonly readOnly: 'read_only';
  readonly finished: 'finished';
  readonly unknownAccount: 'unknown_account';
  readonly tooLarge: 'too_large';
  readonly rateLimited: 'rate_limited';
  readonly storageFull: 'storage_full';
  readonly unauthenticated: 'unauthenticated';
  readonly notFound: 'not_found';
  readonly methodNotAllowed: 'method_not_allowed';
  readonly noValue: 'no_value';
  readonly unsupportedMediaType: 'unsupported_media_type';
  readonly requestTimeout: 'request_timeout';
};

/** Every error of the client: `code` is the hub's error code. */
export declare class WotError extends Error {
  readonly code: string;
  /** The MQTT 5 reason code of a refused packet, when there was one. */
  readonly reasonCode?: number;
  constructor(code: string, message: string, opts?: { reasonCode?: number; cause?: unknown });
  toJSON(): { code: string; message: string };
  static from(code: string, message: string, opts?: { reasonCode?: number; cause?: unknown }): WotError;
}
/** unknown_thing, unknown_affordance, unknown_account, not_found */
export declare class NotFoundError extends WotError {}
/** denied, unauthenticated */
export declare class DeniedError extends WotError {}
/** invalid_payload, invalid_td, invalid_topic, read_only, too_large, ... */
export declare class InvalidInputError extends WotError {}
/** timeout (also the client's own) */
export declare class TimeoutError extends WotError {}
/** expired, finished */
export declare class ExpiredError extends WotError {}
/** busy, superseded, quota, rate_limited, storage_full */
export declare class BusyError extends WotError {}
/** offline */
export declare class OfflineError extends WotError {}
/** cancelled */
export declare class CancelledError extends WotError {}
/** agent_error */
export declare class AgentError extends WotError {}
/** no_value */
export declare class NoValueError extends WotError {}
/** The client was closed. */
export declare class ClosedError extends WotError {}
/** The connection was lost and the call's outcome could not be recovered. */
export declare class ConnectionError extends WotError {}

/** The wotmq topic scheme (docs/topics.md). */
export declare const topics: Record<string, (...ids: string[]) => string>;
export declare function escapeLevel(s: string): string;
export declare function unescapeLevel(level: string): string;
export declare function matchFilter(filter: string, topic: string): boolean;
