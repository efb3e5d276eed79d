// Typed errors. Every error the hub or an agent reports carries its stable
// code (docs/topics.md, "Error codes"); its class says what kind of failure
// it is, the way the Go SDK's sentinel errors do (wot.ErrNotFound, ...).

/** The hub's error codes, which are only ever added to. */
export const codes = Object.freeze({
  invalidTD: 'invalid_td',
  invalidTopic: 'invalid_topic',
  invalidPayload: 'invalid_payload',
  unknownThing: 'unknown_thing',
  unknownAffordance: 'unknown_affordance',
  denied: 'denied',
  expired: 'expired',
  offline: 'offline',
  busy: 'busy',
  superseded: 'superseded',
  quota: 'quota',
  cancelled: 'cancelled',
  agentError: 'agent_error',
  timeout: 'timeout',
  internal: 'internal',
  readOnly: 'read_only',
  finished: 'finished',
  unknownAccount: 'unknown_account',
  tooLarge: 'too_large',
  rateLimited: 'rate_limited',
  storageFull: 'storage_full',
  unauthenticated: 'unauthenticated',
  notFound: 'not_found',
  methodNotAllowed: 'method_not_allowed',
  noValue: 'no_value',
  unsupportedMediaType: 'unsupported_media_type',
  requestTimeout: 'request_timeout',
});

const known = new Set(Object.values(codes));

/**
 * An error of the wotmq client. `code` is the hub's error code (or, for
 * errors of the client itself, `timeout`, `internal`...), `message` the
 * explanation; `reasonCode` is the MQTT 5 reason code of a refused
 * PUBLISH or SUBSCRIBE, when there was one.
 */
export class WotError extends Error {
  /**
   * @param {string} code
   * @param {string} message
   * @param {{reasonCode?: number, cause?: unknown}} [opts]
   */
  constructor(code, message, opts = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = code || codes.internal;
    if (opts.reasonCode !== undefined) this.reasonCode = opts.reasonCode;
  }

  /** The wire form, {code, message}. */
  toJSON() {
    return { code: this.code, message: this.message };
  }

  /**
   * The error of a code, as the class its code maps to.
   * @param {string} code
   * @param {string} message
   * @param {{reasonCode?: number, cause?: unknown}} [opts]
   * @returns {WotError}
   */
  static from(code, message, opts) {
    const C = classOf(code);
    return new C(code || codes.internal, message || code || 'unknown error', opts);
  }
}

/** No such Thing, affordance, request or account. */
export class NotFoundError extends WotError {}
/** Not allowed, or not logged in. */
export class DeniedError extends WotError {}
/** The hub refused a payload, TD or topic. */
export class InvalidInputError extends WotError {}
/** No outcome in time (the client's timeout, or code timeout). */
export class TimeoutError extends WotError {}
/** The request expired in the hub, or had ended already. */
export class ExpiredError extends WotError {}
/** Refused or replaced because of another request, or over a limit for now. */
export class BusyError extends WotError {}
/** The agent is offline and the request could not wait. */
export class OfflineError extends WotError {}
/** The request was cancelled. */
export class CancelledError extends WotError {}
/** The agent reported a failure. */
export class AgentError extends WotError {}
/** The property (or action status) has no value yet. */
export class NoValueError extends WotError {}
/** The client was closed. */
export class ClosedError extends WotError {}
/**
 * The connection to the hub failed or was lost while the call was under way
 * and the outcome could not be recovered: the call may or may not have
 * taken effect.
 */
export class ConnectionError extends WotError {}

/** @param {string} code */
function classOf(code) {
  switch (code) {
    case codes.unknownThing: case codes.unknownAffordance: case codes.unknownAccount: case codes.notFound:
      return NotFoundError;
    case codes.denied: case codes.unauthenticated:
      return DeniedError;
    case codes.invalidPayload: case codes.invalidTD: case codes.invalidTopic: case codes.readOnly:
    case codes.tooLarge: case codes.methodNotAllowed: case codes.unsupportedMediaType:
      return InvalidInputError;
    case codes.timeout: case codes.requestTimeout:
      return TimeoutError;
    case codes.expired: case codes.finished:
      return ExpiredError;
    case codes.busy: case codes.superseded: case codes.quota: case codes.rateLimited: case codes.storageFull:
      return BusyError;
    case codes.offline:
      return OfflineError;
    case codes.cancelled:
      return CancelledError;
    case codes.agentError:
      return AgentError;
    case codes.noValue:
      return NoValueError;
  }
  return WotError;
}

/** What a hub means by an MQTT 5 reason code whose reason string does not say. */
const reasonCodes = new Map([
  [0x87, codes.denied],
  [0x90, codes.invalidTopic],
  [0x97, codes.quota],
  [0x99, codes.invalidPayload],
  [0x86, codes.unauthenticated],
  [0x8c, codes.unauthenticated],
]);

/**
 * The error of a refusal: a PUBACK, SUBACK or CONNACK reason code >= 0x80
 * with the hub's reason string "code: message".
 * @param {number} reasonCode
 * @param {string} [reasonString]
 * @returns {WotError}
 */
export function ackError(reasonCode, reasonString = '') {
  const i = reasonString.indexOf(': ');
  if (i > 0 && known.has(reasonString.slice(0, i))) {
    return WotError.from(reasonString.slice(0, i), reasonString.slice(i + 2), { reasonCode });
  }
  const code = reasonCodes.get(reasonCode) ?? codes.internal;
  const msg = reasonString || `refused with reason code 0x${reasonCode.toString(16)}`;
  return WotError.from(code, msg, { reasonCode });
}

/**
 * Turns what a handler threw into the wire error of a failed answer: a
 * WotError keeps its code, anything else is agent_error with its text.
 * @param {unknown} err
 * @returns {{code: string, message: string}}
 */
export function wireError(err) {
  if (err instanceof WotError) return { code: err.code, message: err.message };
  if (err && typeof err === 'object' && typeof err.code === 'string' && known.has(err.code)) {
    return { code: err.code, message: String(err.message ?? err.code) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: codes.agentError, message };
}
