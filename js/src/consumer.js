// The consumer side: a Thing as its twin TD describes it (ConsumedThing),
// invocations that stream their statuses (Invocation), and the
// PhyStack-style handle of a Thing by ID (TwinRef, client.to(id)).

import { topics } from './topics.js';
import { encodeValue } from './message.js';
import { WotError, NoValueError, codes } from './errors.js';

/** The MQTT binding's default control packet of an operation. */
function defaultPacket(op) {
  switch (op) {
    case 'writeproperty': case 'invokeaction': case 'cancelaction':
    case 'writeallproperties': case 'writemultipleproperties':
      return 'publish';
    case 'unobserveproperty': case 'unsubscribeevent': case 'unobserveallproperties': case 'unsubscribeallevents':
      return 'unsubscribe';
  }
  return 'subscribe';
}

/**
 * The topic (publish) or filter (subscribe) an MQTT form names for op, or
 * '' when it names none: mqv:topic or mqv:filter, else the path of its
 * href resolved against the TD's base.
 */
export function formTopic(td, form, op) {
  const ops = Array.isArray(form.op) ? form.op : [form.op];
  if (!ops.includes(op)) return '';
  const packet = form['mqv:controlPacket'] || defaultPacket(op);
  if (packet === 'publish' && form['mqv:topic']) return form['mqv:topic'];
  if (packet === 'subscribe' && form['mqv:filter']) return form['mqv:filter'];
  if (packet === 'unsubscribe') return '';
  try {
    const u = new URL(form.href, td.base || undefined);
    if ((u.protocol !== 'mqtt:' && u.protocol !== 'mqtts:') || u.pathname.length < 2) return '';
    return decodeURI(u.pathname.slice(1));
  } catch {
    return '';
  }
}

/**
 * A status of an invocation.
 * @typedef {import('./correlator.js').ActionUpdate} ActionUpdate
 */

/**
 * A Thing as a consumer sees it: built from the twin TD the hub serves,
 * each operation uses the topic the TD's MQTT forms name (the wotmq topic
 * scheme where a form is missing). Names follow the Go SDK's
 * wot.ConsumedThing.
 */
export class ConsumedThing {
  constructor(client, td) {
    this._c = client;
    this.td = td;
    this.id = td.id;
  }

  _notFound(kind, name) {
    return WotError.from(codes.unknownAffordance, `Thing ${JSON.stringify(this.id)} has no ${kind} ${JSON.stringify(name)}`);
  }

  /** The affordance's topic for op, or the scheme's when its forms name none. */
  _topic(kind, name, op, scheme) {
    const table = { property: this.td.properties, event: this.td.events, action: this.td.actions }[kind];
    const a = table?.[name];
    if (!a) throw this._notFound(kind, name);
    for (const f of (op ? a.forms : null) ?? []) {
      const t = formTopic(this.td, f, op);
      if (t) return t;
    }
    return scheme(this.id, name);
  }

  /** The Thing-level form's filter for op, or the scheme's. */
  _thingFilter(op, scheme) {
    for (const f of this.td.forms ?? []) {
      const ops = Array.isArray(f.op) ? f.op : [f.op];
      if (ops.includes(op) && f['mqv:filter']) return f['mqv:filter'];
    }
    return scheme(this.id);
  }

  /**
   * Reads a property's current value (retained); rejects with
   * NoValueError when it has none yet.
   * @param {string} name
   */
  async readProperty(name, opts = {}) {
    const topic = this._topic('property', name, 'readproperty', topics.property);
    const msgs = await this._c._retained(topic, opts.timeout);
    const last = msgs[msgs.length - 1];
    if (!last || last.text === '') throw new NoValueError(codes.noValue, `property ${JSON.stringify(name)} of ${this.id} has no value yet`);
    return last.value;
  }

  /** The current value of every property that has one, by name. */
  async readAllProperties(opts = {}) {
    const out = {};
    for (const m of await this._c._retained(this._thingFilter('readallproperties', topics.allProperties), opts.timeout)) {
      if (m.kind === 'property' && m.text !== '') out[m.name] = m.value;
    }
    return out;
  }

  /**
   * Calls fn with the property's current value (when it has one), then
   * with every new value.
   * @param {string} name
   * @param {(value: unknown, m: import('../index.js').Message) => void} fn
   */
  observeProperty(name, fn, opts = {}) {
    const topic = this._topic('property', name, 'observeproperty', topics.property);
    return this._c.subscribe(topic, (m) => { if (m.text !== '') fn(m.value, m); }, opts);
  }

  /**
   * Calls fn with the current value of every property, then every new one.
   * @param {(name: string, value: unknown, m: import('../index.js').Message) => void} fn
   */
  observeAllProperties(fn, opts = {}) {
    const filter = this._thingFilter('observeallproperties', topics.allProperties);
    return this._c.subscribe(filter, (m) => { if (m.kind === 'property' && m.text !== '') fn(m.name, m.value, m); }, opts);
  }

  /**
   * Writes a property (the desired state) and resolves once the agent
   * applied it; rejects with the hub's or the agent's error.
   * @param {string} name
   * @param {unknown} value
   * @param {{timeout?: number, signal?: AbortSignal, onStatus?: (u: ActionUpdate) => void}} [opts]
   */
  async writeProperty(name, value, opts = {}) {
    const topic = this._topic('property', name, 'writeproperty', topics.propertySet);
    await this._c._request(topic, encodeValue(value), {
      ...opts, what: `write ${name} of ${this.id}`, thingId: this.id, name, kind: 'write',
    });
  }

  /**
   * Calls fn with every event of that name from now on.
   * @param {string} name
   * @param {(data: unknown, m: import('../index.js').Message) => void} fn
   */
  subscribeEvent(name, fn, opts = {}) {
    const topic = this._topic('event', name, 'subscribeevent', topics.event);
    return this._c.subscribe(topic, (m) => fn(m.value, m), opts);
  }

  /**
   * Calls fn with every event of the Thing.
   * @param {(name: string, data: unknown, m: import('../index.js').Message) => void} fn
   */
  subscribeAllEvents(fn, opts = {}) {
    const filter = this._thingFilter('subscribeallevents', topics.allEvents);
    return this._c.subscribe(filter, (m) => { if (m.kind === 'event') fn(m.name, m.value, m); }, opts);
  }

  /**
   * Invokes an action and resolves with its output once it completed;
   * rejects with the hub's or the agent's error, or TimeoutError after
   * opts.timeout (10 s by default; the request expires in the hub then
   * too). opts.onStatus gets every status (pending, delivered, running with
   * progress, waiting); opts.signal aborts the wait (not the action: see
   * cancelAction).
   * @param {string} name
   * @param {unknown} [input]
   * @param {{timeout?: number, signal?: AbortSignal, onStatus?: (u: ActionUpdate) => void}} [opts]
   */
  async invokeAction(name, input, opts = {}) {
    const u = await this._invoke(name, input, opts);
    return u.value;
  }

  _invoke(name, input, opts) {
    const topic = this._topic('action', name, 'invokeaction', topics.action);
    return this._c._request(topic, encodeValue(input), {
      ...opts, what: `invoke ${name} of ${this.id}`, thingId: this.id, name, kind: 'action',
    });
  }

  /**
   * Invokes an action and resolves as soon as the hub stored it (its first
   * status), with an Invocation that follows it.
   * @param {string} name
   * @param {unknown} [input]
   * @param {{timeout?: number, signal?: AbortSignal}} [opts]
   * @returns {Promise<Invocation>}
   */
  async invokeActionAsync(name, input, opts = {}) {
    const inv = new Invocation(this, name);
    let first;
    const told = new Promise((resolve) => { first = resolve; });
    inv._done = this._invoke(name, input, {
      ...opts,
      onStatus: (u) => { inv._push(u); first(); },
      onActionId: (id) => { inv.actionId = id; },
    });
    inv._done.catch((err) => { inv._fail(err); first(); });
    await Promise.race([told, inv._done.then(() => {}, () => {})]);
    const u = inv._queue[0];
    if (u?.status === 'failed') throw u.error; // refused at once
    return inv;
  }

  /**
   * Sends a fire-and-forget request to an action: it goes through the
   * hub's inbox like any invocation (the agent gets it, also when it
   * connects later), but no status comes back. Resolves once the hub
   * stored it.
   * @param {string} name
   * @param {unknown} [input]
   */
  emit(name, input, opts = {}) {
    const topic = this._topic('action', name, 'invokeaction', topics.action);
    return this._c._publish(topic, encodeValue(input), {}, Date.now() + (opts.timeout ?? this._c.opts.timeout));
  }

  /**
   * The status record of the newest request of an action (queryaction);
   * rejects with NoValueError when it was never invoked.
   * @param {string} name
   */
  async queryAction(name, opts = {}) {
    const topic = this._topic('action', name, 'queryaction', topics.actionStatus);
    const msgs = await this._c._retained(topic, opts.timeout);
    const last = msgs[msgs.length - 1];
    if (!last || last.text === '') throw new NoValueError(codes.noValue, `action ${JSON.stringify(name)} of ${this.id} has no status`);
    return last.value;
  }

  /**
   * Cancels a request of an action, by its action ID (none for the newest
   * unfinished one), and resolves with its status record after the cancel.
   * @param {string} name
   * @param {string} [actionId]
   */
  async cancelAction(name, actionId, opts = {}) {
    const topic = this._topic('action', name, 'cancelaction', topics.actionCancel);
    const u = await this._c._request(topic, actionId ? JSON.stringify(actionId) : '', {
      ...opts, finalOnly: true, what: `cancel ${name} of ${this.id}`,
    });
    return u.value;
  }

  /**
   * The kept outcomes (finished requests) of an action, newest first.
   * @param {string} name
   */
  async actionHistory(name, opts = {}) {
    const topic = this._topic('action', name, '', topics.actionHistory);
    const u = await this._c._request(topic, '', { ...opts, idempotent: true, what: `outcome history of ${name}` });
    return u.value?.items ?? [];
  }

  /**
   * A page of the Thing's stored events and property values, oldest
   * first; pass page.next as query.cursor for the following page.
   * @param {{from?: string|Date, to?: string|Date, limit?: number, cursor?: string, latest?: boolean}} [query]
   */
  history(query = {}, opts = {}) {
    return this._history(topics.thingHistory(this.id), query, opts);
  }

  /** history() for one event. */
  eventHistory(name, query = {}, opts = {}) {
    return this._history(this._topic('event', name, '', topics.eventHistory), query, opts);
  }

  /** history() for one property. */
  propertyHistory(name, query = {}, opts = {}) {
    return this._history(this._topic('property', name, '', topics.propertyHistory), query, opts);
  }

  async _history(topic, query, opts) {
    const q = { ...query };
    for (const k of ['from', 'to']) if (q[k] instanceof Date) q[k] = q[k].toISOString();
    const u = await this._c._request(topic, JSON.stringify(q), { ...opts, idempotent: true, what: `history ${topic}` });
    return u.value;
  }

  /**
   * Calls fn with the Thing's presence ({state, since, seq}: online,
   * offline, lost or sleeping) and every change, in order.
   * @param {(p: {state: string, since: string, seq: number}) => void} fn
   */
  observePresence(fn, opts = {}) {
    return this._c.subscribe(topics.presence(this.id), (m) => {
      if (m.value && typeof m.value.state === 'string') fn(m.value);
    }, opts);
  }

  /**
   * Calls fn with the desired state of a property ({value, time,
   * version, actionID}: the newest write the agent has not reported yet)
   * and its changes; null when it ends.
   * @param {string} name
   * @param {(d: object|null) => void} fn
   */
  observeDesired(name, fn, opts = {}) {
    if (!this.td.properties?.[name]) throw this._notFound('property', name);
    return this._c.subscribe(topics.desired(this.id, name), (m) => fn(m.text === '' ? null : m.value), opts);
  }

  /**
   * Calls fn with the Thing's delta: every property whose desired and
   * reported values differ, by name ({} when none do).
   * @param {(d: object) => void} fn
   */
  observeDelta(fn, opts = {}) {
    return this._c.subscribe(topics.delta(this.id), (m) => fn(m.value ?? {}), opts);
  }
}

/**
 * An action invoked with invokeActionAsync: its statuses as they come
 * (updates, an async iterator that ends after the final one), its action
 * ID once the hub told it, its outcome (result()) and cancel().
 */
export class Invocation {
  constructor(thing, name) {
    this._t = thing;
    this.name = name;
    /** The hub's ID of the request ('' until a status told it). */
    this.actionId = '';
    this._queue = [];
    this._wake = null;
    this._ended = false;
  }

  _push(u) {
    if (u.actionId && !this.actionId) this.actionId = u.actionId;
    this._queue.push(u);
    if (u.status === 'completed' || u.status === 'failed') this._ended = true;
    this._wake?.();
  }

  _fail(err) {
    if (this._ended) return;
    this._push({ status: 'failed', actionId: this.actionId, error: err });
  }

  /** Every status in order, ending after completed or failed. */
  async *updates() {
    for (;;) {
      while (this._queue.length > 0) {
        const u = this._queue.shift();
        yield u;
        if (u.status === 'completed' || u.status === 'failed') return;
      }
      await new Promise((resolve) => { this._wake = resolve; });
      this._wake = null;
    }
  }

  /** The output once it completed; rejects with the failure. */
  async result() {
    const u = await this._done;
    return u.value;
  }

  /** Asks the hub to cancel the request; its outcome comes as usual. */
  cancel(opts = {}) {
    if (!this.actionId) return Promise.reject(new NoValueError(codes.noValue, 'the hub has not told the action ID yet'));
    return this._t.cancelAction(this.name, this.actionId, opts);
  }
}

/**
 * The outcome of a message with a callback, as PhyStack's TwinMessageResult:
 * status 'success' with data, or 'error' with message and code.
 * @typedef {{status: 'success'|'error', data?: unknown, message?: string, code?: string, error?: WotError}} TwinMessageResult
 */

/** @returns {TwinMessageResult} */
export function toResult(out, err) {
  if (err) return { status: 'error', message: err.message, code: err.code ?? codes.internal, error: err };
  return { status: 'success', data: out };
}

/**
 * A Thing by ID alone, PhyStack style: client.to(id).emit(type, data) sends
 * the Thing a message (a fire-and-forget request to its action `type`);
 * with a callback, or awaited with .request, the action's result within
 * the timeout (10 s). on(event, fn) listens to the Thing's events.
 */
export class TwinRef {
  constructor(client, id) {
    this._c = client;
    this.id = id;
  }

  /**
   * Without a callback: a fire-and-forget message to the action `type`,
   * resolved once the hub stored it. With a callback: the action is
   * invoked and the callback gets a TwinMessageResult ({status: 'success',
   * data} or {status: 'error', message, code}) within opts.timeout; the
   * returned promise resolves with the same result.
   * @param {string} type
   * @param {unknown} [data]
   * @param {((r: TwinMessageResult) => void) | {timeout?: number}} [callback]
   * @param {{timeout?: number}} [opts]
   */
  emit(type, data, callback, opts = {}) {
    if (typeof callback !== 'function') {
      opts = callback ?? opts;
      return this._c._publish(topics.action(this.id, type), encodeValue(data), {}, Date.now() + (opts.timeout ?? this._c.opts.timeout));
    }
    return this.request(type, data, opts).then((r) => {
      try {
        callback(r);
      } catch (err) {
        this._c.log.error('emit callback failed', err);
      }
      return r;
    });
  }

  /**
   * Invokes the action `type` and resolves with a TwinMessageResult (never
   * rejects for a failure the hub or the agent reported).
   */
  request(type, data, opts = {}) {
    return this._c._request(topics.action(this.id, type), encodeValue(data), {
      ...opts, what: `invoke ${type} of ${this.id}`, thingId: this.id, name: type, kind: 'action',
    }).then((u) => toResult(u.value), (err) => toResult(undefined, err));
  }

  /**
   * Calls fn with every event `type` of the Thing.
   * @param {string} type
   * @param {(data: unknown, m: import('../index.js').Message) => void} fn
   */
  on(type, fn, opts = {}) {
    return this._c.subscribe(topics.event(this.id, type), (m) => fn(m.value, m), opts);
  }

  /** The consumed Thing, from its twin TD. */
  thing(opts = {}) {
    return this._c.thing(this.id, opts);
  }
}
