// The connection to a wotmq hub: MQTT 5 over WebSocket (or TCP in Node)
// with MQTT.js, the subscription table, the retained-message markers and the
// correlation of requests with their replies.

import mqtt from 'mqtt';
import { topics, matchFilter, idProblem } from './topics.js';
import { text, randomHex, toMessage, withDeadline } from './message.js';
import {
  WotError, TimeoutError, ClosedError, ConnectionError, InvalidInputError, DeniedError, ackError, codes,
} from './errors.js';
import { Correlator } from './correlator.js';
import { Agent } from './agent.js';
import { ConsumedThing, TwinRef } from './consumer.js';

/** Defaults of the client's options. */
export const defaults = Object.freeze({
  url: 'ws://localhost:9001',
  timeout: 10_000,
  keepalive: 30,
  sessionExpiry: 300,
  reconnectPeriod: 1_000,
});

/**
 * Connects to a hub and resolves once the connection is up, or rejects
 * when the hub refuses the credentials (DeniedError) or nothing answered
 * within options.timeout (ConnectionError).
 * @param {string|string[]} [url] ws://host:port (the hub's WebSocket listener), wss://, or mqtt:// in
 *   Node; or a list of them, the nodes of a cluster: the client starts with the first and moves to
 *   the next each time a connection attempt fails or an established connection drops (every node
 *   is reached by the first URL's path)
 * @param {import('../index.js').ClientOptions} [options]
 * @returns {Promise<Client>}
 */
export async function connect(url, options = {}) {
  const c = new Client(url || defaults.url, options);
  await c._start();
  return c;
}

/** A hub URL as MQTT.js's servers option takes it. */
function serverOf(href) {
  const u = new URL(href);
  const protocol = u.protocol.replace(/:$/, '');
  const ports = { ws: 80, wss: 443, mqtt: 1883, tcp: 1883, mqtts: 8883, ssl: 8883 };
  return { host: u.hostname, port: Number(u.port) || ports[protocol], protocol };
}

/** The account a JWT access token names (its subject), unchecked; '' when pw is none. */
function tokenSubject(pw) {
  const parts = typeof pw === 'string' ? pw.split('.') : [];
  if (parts.length !== 3 || pw.length <= 40) return '';
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(text(Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
    return typeof json.sub === 'string' ? json.sub : '';
  } catch {
    return '';
  }
}

/**
 * A subscription: its handler gets every message on its filter until stop.
 */
export class Subscription {
  constructor(client, sub) {
    this._c = client;
    this._s = sub;
  }

  /** The MQTT topic filter. */
  get filter() {
    return this._s.filter;
  }

  /** Stops the subscription (unsubscribing when no other one uses the filter). */
  async stop() {
    await this._c._unsubscribe(this._s);
  }
}

/**
 * A connection to a wotmq hub, as a consumer, an agent, or both. It
 * reconnects by itself; its persistent MQTT session keeps subscriptions and
 * replies while it is away.
 */
export class Client {
  /**
   * @param {string|string[]} url
   * @param {import('../index.js').ClientOptions} opts
   */
  constructor(url, opts) {
    const urls = Array.isArray(url) ? url : [url];
    if (urls.length === 0) throw new InvalidInputError(codes.invalidPayload, 'no hub URL');
    /** The hub's URL (the first of a list). */
    this.url = urls[0];
    /** Every hub URL the client may use, in turn. */
    this.urls = urls.map((u) => {
      try {
        return new URL(u).href;
      } catch {
        throw new InvalidInputError(codes.invalidPayload, `hub URL ${JSON.stringify(u)} is not a URL`);
      }
    });
    this.opts = { ...defaults, ...opts };
    this.clientId = opts.clientId || `wot-${randomHex(6)}`;
    const p = idProblem(this.clientId);
    if (p) throw new InvalidInputError(codes.invalidPayload, `client ID ${JSON.stringify(this.clientId)}: ${p}`);
    this.accountId = opts.accountId || opts.username || tokenSubject(opts.password) || this.clientId;
    /** The ResponseTopic of this client's requests; channel sessions use topics below it. */
    this.repliesTopic = topics.clientReplies(this.accountId, this.clientId);
    this.log = opts.logger ?? { debug() {}, info() {}, warn() {}, error() {} };

    this._subs = { exact: new Map(), wild: new Map() };
    this._markers = { q: [], gen: 0 };
    this._calls = new Correlator(this);
    this._agent = new Agent(this);
    this._channels = new Map(); // channel sessions this client opened, by session ID
    this._listeners = { connect: new Set(), offline: new Set() };
    this._connected = false;
    this._closed = false;
    this._waiters = new Set(); // resolved on the next restored connection
  }

  /** Whether the connection is up and restored. */
  get connected() {
    return this._connected;
  }

  /**
   * Adds a listener: 'connect' (each time a connection is up and restored)
   * or 'offline' (each time an established connection drops).
   * @param {'connect'|'offline'} event
   * @param {() => void} fn
   */
  on(event, fn) {
    this._listeners[event]?.add(fn);
    return this;
  }

  /** @param {'connect'|'offline'} event @param {() => void} fn */
  off(event, fn) {
    this._listeners[event]?.delete(fn);
    return this;
  }

  _emit(event) {
    for (const fn of this._listeners[event] ?? []) {
      try {
        fn();
      } catch (err) {
        this.log.error('listener failed', event, err);
      }
    }
  }

  async _start() {
    const o = this.opts;
    const m = mqtt.connect(this.url, {
      protocolVersion: 5,
      clientId: this.clientId,
      username: o.username,
      password: o.password,
      keepalive: o.keepalive,
      clean: true, // the first connection starts a new session; later ones resume it
      reconnectPeriod: o.reconnectPeriod,
      connectTimeout: o.timeout,
      resubscribe: false, // done here, with the retained values (see _restore)
      properties: { sessionExpiryInterval: Math.max(0, Math.round(o.sessionExpiry)) },
      ...(this.urls.length > 1 ? { servers: this.urls.map(serverOf) } : {}),
      ...(o.mqttOptions ?? {}),
    });
    this._m = m;
    m.on('message', (topic, payload, packet) => this._route(topic, payload, packet));
    m.on('connect', (connack) => this._onConnect(connack));
    m.on('close', () => this._onClose());
    m.on('error', (err) => this.log.debug('mqtt error', err?.message));

    await new Promise((resolve, reject) => {
      const timer = setTimeout(() => fail(new ConnectionError(codes.timeout, `no connection to ${this.url} within ${o.timeout} ms`)), o.timeout);
      const fail = (err) => {
        clearTimeout(timer);
        m.off('error', onError);
        this._waiters.delete(done);
        m.end(true);
        this._closed = true;
        reject(err);
      };
      const onError = (err) => {
        // A CONNACK refusal: the hub does not take these credentials.
        if (typeof err?.code === 'number' && err.code >= 0x80) {
          const reason = m.connackPacket?.properties?.reasonString ?? err.message;
          const e = ackError(err.code, reason);
          fail(e instanceof DeniedError ? e : new DeniedError(codes.denied, `connection refused: ${err.message}`, { reasonCode: err.code }));
        }
      };
      const done = { resolve: () => { clearTimeout(timer); m.off('error', onError); resolve(); }, reject: () => {} };
      m.on('error', onError);
      this._waiters.add(done);
    });
  }

  _onConnect(connack) {
    this._m.options.clean = false; // from now on, resume the session
    this._markers.gen++;
    const present = !!connack.sessionPresent;
    this.log.info('connected', { sessionPresent: present });
    this._restore(present).catch((err) => this.log.warn('cannot restore the session', err?.message));
  }

  /**
   * Restores what the connection needs: when the hub has no session for
   * this client any more (a first connection, a hub restart, an expired
   * session), the subscriptions with their current retained values; then
   * the exposed Things' TDs; then the outcome of calls whose replies the
   * lost session held.
   */
  async _restore(sessionPresent) {
    const gen = this._markers.gen;
    if (!sessionPresent) {
      const subs = [...this._allSubs()];
      const filters = [...new Set([this.repliesTopic + '/#', ...subs.map((s) => s.filter)])];
      for (const s of subs) s.fresh = true;
      try {
        for (let i = 0; i < filters.length; i += 64) {
          try {
            await this._subscribeFilters(filters.slice(i, i + 64));
          } catch (err) {
            if (err instanceof ConnectionError) throw err; // dropped: the next connection restores
            this.log.warn('cannot subscribe again', err?.message); // a refused filter: the others go on
          }
        }
      } finally {
        for (const s of subs) s.fresh = false;
      }
    }
    if (gen !== this._markers.gen) return; // dropped meanwhile: the next connection restores
    await this._agent.restore();
    this._connected = true;
    for (const w of [...this._waiters]) {
      this._waiters.delete(w);
      w.resolve();
    }
    this._emit('connect');
    if (!sessionPresent) this._calls.recover(); // replies the old session held are lost: ask for the outcome
  }

  _onClose() {
    const was = this._connected;
    this._connected = false;
    this._resetMarkers(new ConnectionError(codes.internal, 'the connection to the hub dropped while subscribing'));
    this._calls.connectionLost();
    if (was) {
      this.log.info('connection lost');
      this._emit('offline');
    }
  }

  /**
   * Waits until the connection is up and restored, or the deadline.
   * @param {number} deadline ms since the epoch
   * @param {string} what
   */
  _whenConnected(deadline, what) {
    if (this._closed) return Promise.reject(new ClosedError(codes.internal, 'wot: client closed'));
    if (this._connected) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const w = {
        resolve: () => { clearTimeout(timer); resolve(); },
        reject: (err) => { clearTimeout(timer); reject(err); },
      };
      const timer = setTimeout(() => {
        this._waiters.delete(w);
        reject(new TimeoutError(codes.timeout, `${what}: no connection to the hub in time`));
      }, Math.max(0, deadline - Date.now()));
      this._waiters.add(w);
    });
  }

  // ---- routing -------------------------------------------------------

  _route(topic, payload, packet) {
    if (topic === this.repliesTopic) {
      this._calls.deliver(packet, payload);
      return;
    }
    if (topic.startsWith(this.repliesTopic + '/')) {
      const session = topic.slice(this.repliesTopic.length + 1).split('/')[1];
      this._channels.get(session)?.receive(payload, packet);
      return;
    }
    if (topic === this._agent.requestsTopic) {
      this._agent.receive(payload, packet);
      return;
    }
    if (topic === topics.hubTD() && packet.retain) this._markerArrived();
    const msg = toMessage(topic, payload, packet);
    const deliver = (s) => {
      if (packet.retain && !s.fresh) return;
      try {
        s.sink(msg);
      } catch (err) {
        this.log.error('subscription handler failed', s.filter, err);
      }
    };
    for (const s of this._subs.exact.get(topic) ?? []) deliver(s);
    for (const [f, set] of this._subs.wild) {
      if (matchFilter(f, topic)) for (const s of set) deliver(s);
    }
  }

  *_allSubs() {
    for (const set of this._subs.exact.values()) yield* set;
    for (const set of this._subs.wild.values()) yield* set;
  }

  _bucket(filter) {
    return /[+#]/.test(filter) ? this._subs.wild : this._subs.exact;
  }

  _hasFilter(filter) {
    return (this._bucket(filter).get(filter)?.size ?? 0) > 0;
  }

  // ---- markers: when the retained messages of a SUBSCRIBE have arrived ----
  //
  // Every SUBSCRIBE ends with the hub TD's filter ($wotmq/td, always
  // retained). The hub sends the retained messages of a SUBSCRIBE's filters
  // in order, so once the hub TD's copy arrives, those before it have all
  // been dispatched. SUBSCRIBEs go out in the order of the queue.

  _pushMarker(n) {
    let mk;
    const p = new Promise((resolve, reject) => {
      mk = { n, gen: this._markers.gen, resolve, reject };
    });
    this._markers.q.push(mk);
    mk.promise = p;
    return mk;
  }

  _markerArrived() {
    const m = this._markers;
    while (m.q.length > 0 && m.q[0].gen !== m.gen) {
      m.q.shift().reject(new ConnectionError(codes.internal, 'the connection dropped while subscribing'));
    }
    if (m.q.length === 0) return;
    const mk = m.q[0];
    if (--mk.n <= 0) {
      m.q.shift();
      mk.resolve();
    }
  }

  _resetMarkers(err) {
    for (const mk of this._markers.q.splice(0)) mk.reject(err);
  }

  _dropMarker(mk) {
    const i = this._markers.q.indexOf(mk);
    if (i >= 0) this._markers.q.splice(i, 1);
  }

  /**
   * Subscribes filters (with the hub TD last as the marker) and resolves
   * once their retained messages have arrived.
   * @param {string[]} filters
   */
  async _subscribeFilters(filters) {
    const list = {};
    let n = 1;
    for (const f of filters) {
      if (f === topics.hubTD()) continue;
      list[f] = { qos: 1 };
      if (matchFilter(f, topics.hubTD())) n++;
    }
    list[topics.hubTD()] = { qos: 1 };
    const mk = this._pushMarker(n);
    let codesGranted;
    let reason = '';
    try {
      const granted = await this._m.subscribeAsync(list);
      codesGranted = granted.map((g) => g.qos);
    } catch (err) {
      if (!Array.isArray(err?.packet?.granted)) {
        this._dropMarker(mk);
        throw new ConnectionError(codes.internal, `subscribe ${filters.join(', ')}: ${err?.message ?? err}`, { cause: err });
      }
      codesGranted = err.packet.granted; // some filters refused
      reason = err.packet.properties?.reasonString ?? '';
    }
    const last = codesGranted[codesGranted.length - 1];
    if (typeof last === 'number' && last >= 0x80) {
      this._dropMarker(mk); // even the hub TD was refused: no marker comes
    } else {
      await mk.promise;
    }
    const bad = codesGranted.find((rc) => rc >= 0x80);
    if (bad !== undefined) throw ackError(bad, reason);
  }

  /**
   * Adds a subscription to the table and subscribes its filter on the hub
   * (again when another subscription has it: the hub then sends the
   * retained messages for the new one). Resolves once they arrived.
   */
  async _subscribe(sub, timeout) {
    const deadline = Date.now() + (timeout ?? this.opts.timeout);
    const what = `subscribe ${sub.filter}`;
    const b = this._bucket(sub.filter);
    if (!b.has(sub.filter)) b.set(sub.filter, new Set());
    b.get(sub.filter).add(sub);
    sub.fresh = true;
    try {
      for (;;) {
        await this._whenConnected(deadline, what);
        try {
          await withDeadline(this._subscribeFilters([sub.filter]), deadline, what);
          return;
        } catch (err) {
          if (!(err instanceof ConnectionError) || this._closed) throw err;
          // the connection dropped: subscribe again on the next one
        }
      }
    } catch (err) {
      await this._unsubscribe(sub).catch(() => {});
      throw err;
    } finally {
      sub.fresh = false;
    }
  }

  async _unsubscribe(sub) {
    const b = this._bucket(sub.filter);
    const set = b.get(sub.filter);
    if (!set || !set.delete(sub)) return;
    if (set.size > 0) return;
    b.delete(sub.filter);
    if (this._closed || !this._connected) return;
    await this._m.unsubscribeAsync(sub.filter).catch(() => {});
  }

  /**
   * Subscribes to a raw topic filter (wildcards too) and calls handler with
   * every message, the retained ones first. Resolves once the hub took the
   * subscription and sent its retained messages.
   * @param {string} filter
   * @param {(m: import('../index.js').Message) => void} handler
   * @returns {Promise<Subscription>}
   */
  async subscribe(filter, handler, opts = {}) {
    const sub = { filter, sink: handler, fresh: true };
    await this._subscribe(sub, opts.timeout);
    return new Subscription(this, sub);
  }

  /**
   * The retained messages on a filter, in the order the hub sent them.
   * @param {string} filter
   * @returns {Promise<import('../index.js').Message[]>}
   */
  async _retained(filter, timeout) {
    const got = [];
    const sub = { filter, sink: (m) => { if (m.retained) got.push(m); }, fresh: true };
    await this._subscribe(sub, timeout);
    await this._unsubscribe(sub);
    return got;
  }

  // ---- publishing ----------------------------------------------------

  /**
   * Publishes a QoS 1 message and resolves when the hub took it; a refusal
   * rejects with the hub's error. While the connection is down the
   * message waits (MQTT.js sends it on the next connection).
   */
  _publish(topic, payload, properties, deadline, what) {
    if (this._closed) return Promise.reject(new ClosedError(codes.internal, 'wot: client closed'));
    what ??= `publish ${topic}`;
    deadline ??= Date.now() + this.opts.timeout;
    const p = new Promise((resolve, reject) => {
      this._m.publish(topic, payload, { qos: 1, properties }, (err, packet) => {
        if (!err) {
          resolve();
          return;
        }
        const rc = err.code ?? packet?.reasonCode;
        if (typeof rc === 'number' && rc >= 0x80) {
          reject(ackError(rc, packet?.properties?.reasonString ?? ''));
          return;
        }
        if (this._closed) {
          reject(new ClosedError(codes.internal, 'wot: client closed'));
          return;
        }
        reject(new ConnectionError(codes.internal, `${what}: ${err.message}`, { cause: err }));
      });
    });
    return withDeadline(p, deadline, what);
  }

  /**
   * Publishes a request with this client's ResponseTopic and waits for
   * its final reply (see Correlator.request).
   */
  _request(topic, payload, opts) {
    return this._calls.request(topic, payload, opts);
  }

  // ---- the API --------------------------------------------------------

  /**
   * The twin TD of every Thing in the hub's directory, sorted by ID.
   * @returns {Promise<object[]>}
   */
  async things(opts = {}) {
    const byId = new Map();
    for (const m of await this._retained(topics.directory(), opts.timeout)) {
      if (m.kind !== 'td') continue;
      if (m.value === undefined) byId.delete(m.thingId);
      else byId.set(m.thingId, m.value);
    }
    return [...byId.keys()].sort().map((id) => byId.get(id));
  }

  /**
   * Calls fn with every twin TD in the directory, then with every change:
   * a new or updated Thing with its TD, a deleted one with null.
   * @param {(id: string, td: object|null) => void} fn
   * @returns {Promise<Subscription>}
   */
  watchThings(fn, opts = {}) {
    return this.subscribe(topics.directory(), (m) => {
      if (m.kind !== 'td') return;
      fn(m.thingId, m.value === undefined ? null : m.value);
    }, opts);
  }

  /**
   * Fetches the twin TD of a Thing and returns the consumed Thing; a Thing
   * the hub does not know rejects with NotFoundError.
   * @param {string} id
   * @returns {Promise<ConsumedThing>}
   */
  async thing(id, opts = {}) {
    const p = idProblem(id);
    if (p) throw WotError.from(codes.invalidTopic, `Thing ID ${JSON.stringify(id)}: ${p}`);
    const msgs = await this._retained(topics.td(id), opts.timeout);
    const last = msgs[msgs.length - 1];
    if (!last || last.value === undefined) throw WotError.from(codes.unknownThing, `no Thing ${JSON.stringify(id)}`);
    return this.consume(last.value);
  }

  /**
   * The consumed Thing of a twin TD obtained otherwise (things, watchThings).
   * @param {object} td
   */
  consume(td) {
    return new ConsumedThing(this, td);
  }

  /**
   * The PhyStack-style handle of a Thing by ID alone (no TD needed):
   * to(id).emit(type, data) sends a message to its action `type`, with a
   * callback (or awaited) the action's result; to(id).on(event, fn)
   * listens to its events.
   * @param {string} id
   */
  to(id) {
    return new TwinRef(this, id);
  }

  /**
   * Prepares a Thing for exposing with this client as its agent; nothing
   * is sent until expose().
   * @param {object} td a Thing Description with an id (forms are optional)
   */
  produce(td) {
    return this._agent.produce(td);
  }

  /**
   * Disconnects, once the answers of request handlers that finished went
   * out (at most 2 s). Calls still waiting reject with ClosedError;
   * requests whose handlers were still running are delivered again when
   * the agent comes back. Publishes the hub has not acknowledged 2 s
   * later, or at once while the connection is down, are given up: close
   * always ends.
   */
  close() {
    this._closing ??= this._close();
    return this._closing;
  }

  async _close() {
    if (this._connected) await this._agent.flush(2_000); // answers of handlers that finished
    this._agent.close();
    this._closed = true;
    this._connected = false;
    for (const w of [...this._waiters]) w.reject(new ClosedError(codes.internal, 'wot: client closed'));
    this._waiters.clear();
    this._calls.closeAll();
    this._agent.close();
    for (const s of [...this._channels.values()]) s.closeSilently?.();
    // MQTT.js's end() first waits for every publish in flight to be
    // acknowledged: while the connection is down, or once it drops, or
    // when the hub's answers no longer arrive, that never happens, and
    // close() hung for ever. What is still in flight then is given up (its
    // callers were rejected above) and the client ends.
    const m = this._m;
    const giveUp = () => {
      for (const id of Object.keys(m.outgoing)) m.removeOutgoingMessage(Number(id));
      if (m.disconnecting) m.emit('outgoingEmpty');
    };
    m.once('close', giveUp);
    const timer = setTimeout(giveUp, m.connected ? 2_000 : 0);
    await m.endAsync().catch(() => {});
    clearTimeout(timer);
    m.off('close', giveUp);
  }
}
