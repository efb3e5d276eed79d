// Requests and their replies. A request carries the client's ResponseTopic
// and a CorrelationData of its own; the hub sends every status of it there
// (pending, delivered, running, waiting, then completed or failed).
//
// No reply is lost across a reconnection:
// - The client's MQTT session is persistent (sessionExpiry, 300 s by
//   default): while the connection is down, the hub keeps the session's
//   subscriptions and queues the replies, and sends them on the next
//   connection. MQTT.js sends again the requests the hub had not
//   acknowledged.
// - A request sent again may reach the hub twice (the first copy arrived,
//   its PUBACK did not). Both copies carry the same CorrelationData; the
//   inbox rules then refuse the second (busy) or let it replace the first
//   (superseded). Such a failure is not the call's outcome while a copy of
//   the call is alive (see settle).
// - When the hub has no session for the client any more (it restarted, or
//   the session expired), the replies it held are gone: for every call
//   whose action ID is known, the client reads the action's status record
//   and outcome history, and settles the call from there if it finished;
//   otherwise its later replies come as usual. A call whose action ID was
//   never told fails with ConnectionError (it may or may not have run);
//   history queries, which change nothing, are sent again.

import { codes, WotError, TimeoutError, ClosedError, ConnectionError } from './errors.js';
import { randomHex, text, userProp } from './message.js';
import { topics } from './topics.js';

const FINAL = new Set(['completed', 'failed']);

/** How long a resent call holds a busy or superseded failure, waiting for its other copy's status. */
export const DUPLICATE_GRACE = 1_000;

/**
 * A status of a request, as onStatus callbacks and Invocation updates get it.
 * @typedef {{status: string, actionId: string, time?: Date, value?: unknown, error?: WotError}} ActionUpdate
 */

/** @param {any} packet @param {Uint8Array} payload @returns {ActionUpdate} */
export function toUpdate(packet, payload) {
  const status = userProp(packet, 'status') || 'completed';
  const t = userProp(packet, 'time');
  const u = { status, actionId: userProp(packet, 'action-id'), time: t ? new Date(t) : undefined };
  if (status === 'failed') {
    u.error = failure(packet, payload);
    return u;
  }
  const s = text(payload);
  if (s !== '') {
    try {
      u.value = JSON.parse(s);
    } catch {
      u.value = s;
    }
  }
  return u;
}

/**
 * The error of a failed reply: the error and message user properties,
 * else the {"code", "message"} payload.
 */
export function failure(packet, payload) {
  let code = userProp(packet, 'error');
  let message = userProp(packet, 'message');
  if (!code) {
    try {
      const e = JSON.parse(text(payload));
      if (e && typeof e.code === 'string') ({ code, message } = e);
      else if (typeof e === 'string') message = e;
    } catch {
      message = text(payload);
    }
  }
  return WotError.from(code || codes.internal, message || code || 'failed');
}

/**
 * The outcome of a status record (queryaction, outcome history), as an
 * update; undefined while it has not finished.
 */
function recordUpdate(rec) {
  if (!rec || !FINAL.has(rec.status)) return undefined;
  const u = { status: rec.status, actionId: rec.id, time: rec.updated ? new Date(rec.updated) : undefined };
  if (rec.status === 'failed') {
    u.error = WotError.from(rec.error?.code || codes.internal, rec.error?.message || 'failed');
  } else {
    u.value = rec.output;
  }
  return u;
}

export class Correlator {
  constructor(client) {
    this.c = client;
    this.prefix = randomHex(6) + '-';
    this.seq = 0;
    /** @type {Map<string, any>} */
    this.calls = new Map();
  }

  /** How many calls wait for a reply. */
  get size() {
    return this.calls.size;
  }

  /**
   * Publishes a request and resolves with its final update (a failed
   * request rejects with its error).
   * @param {string} topic
   * @param {string} payload
   * @param {{timeout?: number, signal?: AbortSignal, onStatus?: (u: ActionUpdate) => void,
   *   finalOnly?: boolean, what?: string, thingId?: string, name?: string, kind?: string,
   *   idempotent?: boolean, onActionId?: (id: string) => void}} opts
   * @returns {Promise<ActionUpdate>}
   */
  request(topic, payload, opts = {}) {
    const c = this.c;
    const timeout = opts.timeout ?? c.opts.timeout;
    const what = opts.what ?? topic;
    const corr = this.prefix + (++this.seq).toString(36);
    let call;
    const done = new Promise((resolve, reject) => {
      call = {
        corr, topic, payload, opts, what, resolve, reject,
        acked: false, resent: false, ids: new Map(), held: null, heldTimer: null,
      };
    });
    this.calls.set(corr, call);
    const end = () => this._drop(call);
    call.timer = setTimeout(() => {
      this._settle(call, undefined, new TimeoutError(codes.timeout, `${what}: no outcome within ${timeout} ms`));
    }, timeout);
    if (opts.signal) {
      if (opts.signal.aborted) this._settle(call, undefined, abortError(opts.signal, what));
      else opts.signal.addEventListener('abort', () => this._settle(call, undefined, abortError(opts.signal, what)), { once: true });
    }
    if (this.calls.has(corr)) this._send(call, Date.now() + timeout);
    return done.finally(end);
  }

  _properties(call) {
    const props = {
      responseTopic: this.c.repliesTopic,
      correlationData: call.corr,
      messageExpiryInterval: Math.max(1, Math.ceil((call.opts.timeout ?? this.c.opts.timeout) / 1000)),
    };
    if (call.opts.finalOnly) props.userProperties = { replies: 'final' };
    return props;
  }

  _send(call, deadline) {
    this.c._publish(call.topic, call.payload, this._properties(call), deadline, call.what).then(
      () => { call.acked = true; },
      (err) => {
        // A copy sent again may be refused because of the original (busy).
        if (!this._duplicate(call, { status: 'failed', actionId: '', error: err })) this._settle(call, undefined, err);
      },
    );
  }

  /**
   * Reports whether a failure may be that of a duplicate of a call sent
   * again (busy: refused because of the original; superseded: the
   * original replaced by the copy): then it is ignored while another copy
   * of the call is alive, or held for DUPLICATE_GRACE for the other copy's
   * next status.
   */
  _duplicate(call, u) {
    if (!call.resent || (u.error.code !== codes.busy && u.error.code !== codes.superseded)) return false;
    const live = [...call.ids].some(([id, st]) => id !== u.actionId && !FINAL.has(st));
    if (!live) this._hold(call, u);
    return true;
  }

  /** A reply on the client's ResponseTopic. */
  deliver(packet, payload) {
    const corr = text(packet.properties?.correlationData);
    const call = this.calls.get(corr);
    if (!call) return false;
    const u = toUpdate(packet, payload);
    if (u.actionId) {
      const before = call.ids.get(u.actionId);
      // A status sent again (the hub resends what the connection lost).
      if (packet.dup && before === u.status) return true;
      call.ids.set(u.actionId, u.status);
      if (before === undefined) call.opts.onActionId?.(u.actionId);
    }
    if (call.held && u.actionId && u.actionId !== call.held.actionId && !FINAL.has(u.status)) {
      // The held failure was our own duplicate's: the other copy lives.
      this._release(call);
    }
    if (!FINAL.has(u.status)) {
      if (!call.ended) safe(() => call.opts.onStatus?.(u), this.c.log);
      return true;
    }
    if (u.status === 'failed' && this._duplicate(call, u)) return true;
    this._settle(call, u);
    return true;
  }

  _hold(call, u) {
    this._release(call);
    call.held = u;
    call.heldTimer = setTimeout(() => {
      const h = call.held;
      call.held = null;
      if (h) this._settle(call, h);
    }, DUPLICATE_GRACE);
  }

  _release(call) {
    clearTimeout(call.heldTimer);
    call.held = null;
  }

  /** Ends a call with an update (or an error). */
  _settle(call, u, err) {
    if (call.ended) return;
    call.ended = true;
    clearTimeout(call.timer);
    this._release(call);
    this.calls.delete(call.corr);
    if (u && !err) safe(() => call.opts.onStatus?.(u), this.c.log);
    if (err) call.reject(err);
    else if (u.status === 'failed') call.reject(u.error);
    else call.resolve(u);
  }

  _drop(call) {
    clearTimeout(call.timer);
    this._release(call);
    this.calls.delete(call.corr);
  }

  /** The connection dropped: requests not acknowledged will be sent again by MQTT.js. */
  connectionLost() {
    for (const call of this.calls.values()) {
      if (!call.acked) call.resent = true;
    }
  }

  /**
   * The hub had no session for the client on reconnection: the replies
   * it held are gone. Recover what can be recovered (see the top of the file).
   */
  recover() {
    for (const call of [...this.calls.values()]) {
      const live = [...call.ids].filter(([, st]) => !FINAL.has(st)).map(([id]) => id);
      if (call.opts.idempotent) {
        this._send(call, Date.now() + (call.opts.timeout ?? this.c.opts.timeout));
        continue;
      }
      if (!call.acked) continue; // MQTT.js sent it again on this connection; its replies follow
      if (live.length === 0 || !call.opts.thingId) {
        this._settle(call, undefined, new ConnectionError(codes.internal,
          `${call.what}: the hub lost this client's session while the request was under way; it may or may not have taken effect`));
        continue;
      }
      this._recoverCall(call, live).catch((err) => this.c.log.warn('cannot recover a call', call.what, err?.message));
    }
  }

  async _recoverCall(call, ids) {
    const { thingId, name, kind } = call.opts;
    if (kind === 'write') {
      // A write whose desired state still names it has not ended.
      const msgs = await this.c._retained(topics.desired(thingId, name));
      const d = msgs[msgs.length - 1]?.value;
      if (d && ids.includes(d.actionID)) return;
      this._settle(call, undefined, new ConnectionError(codes.internal,
        `${call.what}: the hub lost this client's session meanwhile; the write ended, but its outcome is not known (read the property)`));
      return;
    }
    const msgs = await this.c._retained(topics.actionStatus(thingId, name));
    const rec = msgs[msgs.length - 1]?.value;
    if (rec && ids.includes(rec.id)) {
      const u = recordUpdate(rec);
      if (u) this._settle(call, u);
      return; // not finished: its later replies come to the ResponseTopic
    }
    const page = await this.request(topics.actionHistory(thingId, name), '', { what: `outcome history of ${name}`, idempotent: true });
    for (const r of page.value?.items ?? []) {
      if (ids.includes(r.id)) {
        const u = recordUpdate(r);
        if (u) this._settle(call, u);
        return;
      }
    }
  }

  /** The client closed: every call rejects with ClosedError. */
  closeAll() {
    for (const call of [...this.calls.values()]) {
      this._settle(call, undefined, new ClosedError(codes.internal, 'wot: client closed'));
    }
  }
}

function abortError(signal, what) {
  const r = signal.reason;
  if (r instanceof WotError) return r;
  return WotError.from(codes.cancelled, `${what}: aborted${r?.message ? `: ${r.message}` : ''}`, { cause: r });
}

function safe(fn, log) {
  try {
    fn();
  } catch (err) {
    log.error('status callback failed', err);
  }
}

