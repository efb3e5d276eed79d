// The agent side: Things this client exposes through the hub, the requests
// the hub hands it (actions, property writes, cancels) and their answers.
// Channel signalling requests go to the Thing's signal handler
// (channel.js).

import { topics, idProblem } from './topics.js';
import { encodeValue, text, userProp } from './message.js';
import { WotError, InvalidInputError, codes, wireError } from './errors.js';

/** Requests for Things not exposed (yet) that an agent holds; more are left to the hub. */
const MAX_PARKED = 1024;
/** Finished requests an agent remembers, to answer a redelivered one without running it twice. */
const MAX_FINISHED = 4096;

const PRESENCE = new Set(['online', 'offline', 'sleeping', 'lost']);

/**
 * An action invocation or property write the hub handed to the agent.
 */
export class Request {
  constructor(agent, packet, payload) {
    this._a = agent;
    const p = packet.properties ?? {};
    /** 'invokeaction' or 'writeproperty'. */
    this.op = userProp(packet, 'op');
    this.thingId = userProp(packet, 'thing');
    /** The action or property. */
    this.name = userProp(packet, 'name');
    /** The hub's ID of the request. */
    this.actionId = userProp(packet, 'action-id') || text(p.correlationData);
    /** The consumer that made it. */
    this.sender = userProp(packet, 'sender');
    const t = userProp(packet, 'time');
    this.time = t ? new Date(t) : undefined;
    /** How often it was delivered before (the agent's connection dropped before it answered). */
    this.redelivered = Number(userProp(packet, 'redelivered')) || 0;
    /** When the hub stops waiting for the outcome. */
    this.expires = p.messageExpiryInterval ? new Date(Date.now() + p.messageExpiryInterval * 1000) : undefined;
    /** The input (or the value to write), as JSON text ('' for none). */
    this.text = text(payload);
    /** The input, parsed (undefined for none). */
    this.input = undefined;
    this._replyTo = p.responseTopic || topics.replies(agent.c.accountId);
    this._corr = p.correlationData;
    this._abort = new AbortController();
    /** Aborted when the request is cancelled, expires, or the client closes. */
    this.signal = this._abort.signal;
  }

  /** Reports progress (status running, the payload optional). */
  progress(value) {
    return this._report('running', value);
  }

  /** Reports that the device behind the agent is asleep or away; the outcome follows later. */
  waiting(detail) {
    return this._report('waiting', detail);
  }

  _report(status, value) {
    return this._a.c._publish(this._replyTo, encodeValue(value), this._answerProps(status));
  }

  _answerProps(status, err) {
    const user = { status, 'action-id': this.actionId };
    if (err) Object.assign(user, { error: err.code, message: err.message });
    return { correlationData: this._corr, userProperties: user };
  }
}

/**
 * A Thing this client exposes as its agent. Make one with client.produce,
 * set handlers, then expose(). Names follow the Go SDK's wot.ExposedThing;
 * on(type, (data, respond) => ...) and emit(type, data) are the PhyStack
 * shorthands.
 */
export class ExposedThing {
  constructor(agent, td) {
    this._a = agent;
    this.td = structuredClone(td);
    this.id = td.id;
    this._actions = new Map();
    this._writes = new Map();
    this._signals = null;
    this.exposed = false;
  }

  /**
   * Sets the handler of an action: it gets the input and the Request
   * (progress, waiting, signal) and returns the output (or a promise of
   * it); a thrown WotError keeps its code, anything else fails the request
   * as agent_error.
   * @param {string} name
   * @param {(input: unknown, req: Request) => unknown} handler
   */
  handleAction(name, handler) {
    if (!this.td.actions?.[name]) throw new Error(`handleAction: Thing ${JSON.stringify(this.id)} has no action ${JSON.stringify(name)}`);
    this._actions.set(name, handler);
    return this;
  }

  /**
   * Sets the handler of writes of a property: it applies the value and
   * returns the value to report (undefined reports the value asked for).
   * @param {string} name
   * @param {(value: unknown, req: Request) => unknown} handler
   */
  handleWrite(name, handler) {
    if (!this.td.properties?.[name]) throw new Error(`handleWrite: Thing ${JSON.stringify(this.id)} has no property ${JSON.stringify(name)}`);
    this._writes.set(name, handler);
    return this;
  }

  /**
   * PhyStack's handler of a targeted message: the action `type` is
   * answered with respond({status: 'success', data} | {status: 'error',
   * message, code}) (any other value is the data of a success). A handler
   * that takes no respond parameter completes with what it returns.
   * @param {string} type
   * @param {(data: unknown, respond: (r: unknown) => void, req: Request) => unknown} handler
   */
  on(type, handler) {
    return this.handleAction(type, (input, req) => new Promise((resolve, reject) => {
      let answered = false;
      const respond = (r) => {
        if (answered) return;
        answered = true;
        const isResult = r && typeof r === 'object' && (r.status === 'success' || r.status === 'error');
        if (isResult && r.status === 'error') {
          reject(WotError.from(r.code || codes.agentError, r.message || 'error'));
        } else {
          resolve(isResult ? r.data : r);
        }
      };
      Promise.resolve()
        .then(() => handler(input, respond, req))
        .then((out) => { if (handler.length < 2) respond(out); }, (err) => { answered = true; reject(err); });
    }));
  }

  /**
   * Starts receiving requests, then publishes the TD (AgentUpdateTD): a
   * consumer that sees the TD finds the agent online. The hub validates
   * the TD; a refusal rejects with InvalidInputError (code invalid_td)
   * listing every problem.
   */
  async expose(opts = {}) {
    await this._a.expose(this, opts.timeout);
    try {
      await this._publishTD(opts.timeout);
    } catch (err) {
      this._a.forget(this.id);
      throw err;
    }
    this.exposed = true;
  }

  async _publishTD(timeout) {
    const deadline = Date.now() + (timeout ?? this._a.c.opts.timeout);
    try {
      await this._a.c._publish(topics.agentTD(this._a.c.accountId, this.id), JSON.stringify(this.td), {}, deadline, `expose ${this.id}`);
    } catch (err) {
      if (err instanceof WotError) err.message = `expose ${this.id}: ${err.message}`;
      throw err;
    }
  }

  /** Deletes the Thing from the hub: its twin, values and history go. */
  async destroy(opts = {}) {
    this._a.forget(this.id);
    this.exposed = false;
    await this._a.c._publish(topics.agentTD(this._a.c.accountId, this.id), '', {}, Date.now() + (opts.timeout ?? this._a.c.opts.timeout));
  }

  /**
   * Emits an event (AgentPublishEvent); resolves once the hub stored it.
   * @param {string} name
   * @param {unknown} [data]
   */
  publishEvent(name, data, opts = {}) {
    return this._a.c._publish(topics.agentEvent(this._a.c.accountId, this.id, name), encodeValue(data), {},
      Date.now() + (opts.timeout ?? this._a.c.opts.timeout), `event ${name} of ${this.id}`);
  }

  /** PhyStack's broadcast: publishEvent. */
  emit(type, data, opts) {
    return this.publishEvent(type, data, opts);
  }

  /**
   * Reports a property's value (AgentUpdateProperty, the reported state).
   * @param {string} name
   * @param {unknown} value
   */
  updateProperty(name, value, opts = {}) {
    return this._a.c._publish(topics.agentProperty(this._a.c.accountId, this.id, name), encodeValue(value), {},
      Date.now() + (opts.timeout ?? this._a.c.opts.timeout), `property ${name} of ${this.id}`);
  }

  /** Reports several property values, one message each, in name order. */
  async updateProperties(values, opts = {}) {
    const errs = [];
    for (const name of Object.keys(values).sort()) {
      await this.updateProperty(name, values[name], opts).catch((e) => errs.push(e));
    }
    if (errs.length === 1) throw errs[0];
    if (errs.length > 1) throw new AggregateError(errs, errs.map((e) => e.message).join('; '));
  }

  /**
   * Reports the Thing's presence: 'online', 'offline', 'lost' or 'sleeping'
   * (for an agent fronting devices; the hub follows the agent's own
   * connection by itself).
   * @param {string} state
   */
  setPresence(state, opts = {}) {
    if (!PRESENCE.has(state)) return Promise.reject(new InvalidInputError(codes.invalidPayload, `presence ${JSON.stringify(state)}: want online, offline, sleeping or lost`));
    return this._a.c._publish(topics.agentPresence(this._a.c.accountId, this.id), JSON.stringify(state), {},
      Date.now() + (opts.timeout ?? this._a.c.opts.timeout));
  }

  /**
   * Sets the handler of the Thing's channel signalling (channel.js
   * serveChannels does); null removes it. Offers for a Thing without one
   * are refused.
   * @param {((sig: object, req: {sender: string, thingId: string, reply: (s: object) => Promise<void>}) => void) | null} h
   */
  handleSignals(h) {
    this._signals = h;
  }
}

/** A client's agent side. */
export class Agent {
  constructor(client) {
    this.c = client;
    this.requestsTopic = topics.requests(client.accountId);
    this.things = new Map();
    this.subscribed = false;
    this.parked = [];
    this.running = new Map();
    this.finished = new Map(); // final answers by action ID, oldest first
    this.answering = new Set(); // answers being published
    this.closed = false;
  }

  produce(td) {
    if (!td || typeof td !== 'object') throw new InvalidInputError(codes.invalidTD, 'produce: no Thing Description');
    const p = idProblem(td.id);
    if (p) throw new InvalidInputError(codes.invalidTD, `produce: Thing ID ${JSON.stringify(td.id)}: ${p}`);
    return new ExposedThing(this, td);
  }

  async expose(e, timeout) {
    this.things.set(e.id, e);
    if (!this.subscribed && !this.c._hasFilter(this.requestsTopic)) {
      // The requests arrive through _route, not through the table; the
      // table entry keeps the filter subscribed across lost sessions.
      const sub = { filter: this.requestsTopic, sink() {}, fresh: true };
      try {
        await this.c._subscribe(sub, timeout);
      } catch (err) {
        this.things.delete(e.id);
        throw err;
      }
      this.subscribed = true;
    }
    const kept = [];
    for (const [packet, payload] of this.parked) {
      if (userProp(packet, 'thing') === e.id) this._start(e, packet, payload);
      else kept.push([packet, payload]);
    }
    this.parked = kept;
  }

  forget(id) {
    this.things.delete(id);
  }

  /** Publishes every exposed Thing's TD again on a new connection. */
  async restore() {
    for (const e of this.things.values()) {
      await e._publishTD().catch((err) => this.c.log.warn('cannot publish TD again', e.id, err?.message));
    }
  }

  /** A request from the hub. */
  receive(payload, packet) {
    if (this.closed || !packet.properties) return;
    const op = userProp(packet, 'op');
    if (op === 'signal') {
      this._signal(payload, packet);
      return;
    }
    const id = userProp(packet, 'action-id') || text(packet.properties.correlationData);
    if (!id) return;
    if (op === 'cancelaction') {
      this.running.get(id)?._abort.abort(WotError.from(codes.cancelled, 'cancelled by the consumer'));
      return;
    }
    if (this.running.has(id)) return; // delivered again while running: the outcome answers both
    const ans = this.finished.get(id);
    if (ans) {
      this._answer(ans); // answered already; the answer may have been lost
      return;
    }
    const e = this.things.get(userProp(packet, 'thing'));
    if (!e) {
      if (this.parked.length < MAX_PARKED) this.parked.push([packet, payload]);
      return;
    }
    this._start(e, packet, payload);
  }

  _start(e, packet, payload) {
    const r = new Request(this, packet, payload);
    this.running.set(r.actionId, r);
    let timer;
    if (r.expires) {
      timer = setTimeout(() => r._abort.abort(WotError.from(codes.expired, 'the request expired')), r.expires - Date.now());
    }
    this._handle(e, r).then((ans) => {
      clearTimeout(timer);
      this.running.delete(r.actionId);
      // A handler stopped by close is not answered: the hub delivers the
      // request again when the agent comes back.
      if (this.closed && r.signal.aborted) return;
      this.finished.set(r.actionId, ans);
      if (this.finished.size > MAX_FINISHED) this.finished.delete(this.finished.keys().next().value);
      const p = this._answer(ans);
      this.answering.add(p);
      p.finally(() => this.answering.delete(p));
    });
  }

  /**
   * Waits (at most ms) for the answers of handlers that finished to go
   * out: close() calls it before it disconnects.
   */
  async flush(ms) {
    await new Promise((resolve) => setTimeout(resolve, 0)); // handlers that just returned
    if (this.answering.size === 0) return;
    let timer;
    await Promise.race([
      Promise.allSettled([...this.answering]),
      new Promise((resolve) => { timer = setTimeout(resolve, ms); }),
    ]);
    clearTimeout(timer);
  }

  /** Runs the handler and returns the final answer. */
  async _handle(e, r) {
    const fail = (err) => ({ r, status: 'failed', err: wireError(err) });
    try {
      if (r.text !== '') r.input = JSON.parse(r.text);
    } catch (err) {
      return fail(WotError.from(codes.invalidPayload, `input of ${r.name}: ${err.message}`));
    }
    try {
      if (r.op === 'invokeaction') {
        const h = e._actions.get(r.name);
        if (!h) return fail(WotError.from(codes.unknownAffordance, `the agent has no handler for action ${JSON.stringify(r.name)}`));
        const out = await h(r.input, r);
        return { r, status: 'completed', payload: encodeValue(out) };
      }
      if (r.op === 'writeproperty') {
        const h = e._writes.get(r.name);
        if (!h) return fail(WotError.from(codes.unknownAffordance, `the agent has no handler for writes of property ${JSON.stringify(r.name)}`));
        let v = await h(r.input, r);
        if (v === undefined) v = r.input;
        try {
          await e.updateProperty(r.name, v);
        } catch (err) {
          return fail(WotError.from(err.code ?? codes.agentError, `report the written value: ${err.message}`));
        }
        return { r, status: 'completed', payload: '' };
      }
    } catch (err) {
      if (r.signal.aborted && !(err instanceof WotError)) return fail(r.signal.reason);
      return fail(err);
    }
    return fail(WotError.from(codes.invalidPayload, `the agent does not support operation ${JSON.stringify(r.op)}`));
  }

  /**
   * Publishes a final answer. An output the hub refuses (it does not fit
   * the action's output schema) becomes a failure, so the consumer is not
   * left waiting.
   */
  async _answer(ans) {
    const { r } = ans;
    try {
      await this.c._publish(r._replyTo, ans.payload ?? JSON.stringify(ans.err), r._answerProps(ans.status, ans.err));
    } catch (err) {
      if (ans.status === 'completed' && err.code === codes.invalidPayload) {
        const failed = { r, status: 'failed', err: { code: codes.agentError, message: `the hub refused the agent's output: ${err.message}` } };
        if (this.finished.has(r.actionId)) this.finished.set(r.actionId, failed);
        await this._answer(failed);
        return;
      }
      // expired: the hub gave up already; a lost connection: the hub
      // delivers the request again and it is answered again.
      this.c.log.info('answer not taken', r.actionId, err?.message);
    }
  }

  /** A channel signal for one of the Things (handled in order by its handler). */
  _signal(payload, packet) {
    const thingId = userProp(packet, 'thing');
    const sender = userProp(packet, 'sender');
    const replyTo = packet.properties.responseTopic || topics.signals(this.c.accountId);
    let sig;
    try {
      sig = JSON.parse(text(payload));
    } catch {
      return;
    }
    if (!sig?.session) return;
    const reply = (s) => this.c._publish(replyTo, JSON.stringify({ ...s, session: sig.session }), { userProperties: { sender } });
    const h = this.things.get(thingId)?._signals;
    if (!h) {
      if (sig.type === 'offer') {
        reply({ type: 'error', error: { code: codes.unknownAffordance, message: `Thing ${JSON.stringify(thingId)} does not take real-time channels; use hub messaging` } })
          .catch((err) => this.c.log.info('cannot refuse a channel offer', err?.message));
      }
      return;
    }
    try {
      h(sig, { sender, thingId, reply });
    } catch (err) {
      this.c.log.error('signal handler failed', err);
    }
  }

  /** Stops taking requests and stops the running handlers. */
  close() {
    this.closed = true;
    for (const r of this.running.values()) r._abort.abort(WotError.from(codes.cancelled, 'wot: client closed'));
    this.parked = [];
  }
}
