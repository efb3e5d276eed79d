// Payloads and received messages: JSON values in, JSON values out, and the
// hub's stamps (sender, time) read from MQTT 5 user properties.

import { parseThingTopic } from './topics.js';
import { TimeoutError, codes } from './errors.js';

const dec = new TextDecoder();

/** @param {unknown} b */
export function text(b) {
  if (b === undefined || b === null) return '';
  if (typeof b === 'string') return b;
  return dec.decode(b);
}

/**
 * Encodes a value as a JSON payload: undefined is an empty payload.
 * @param {unknown} v
 */
export function encodeValue(v) {
  if (v === undefined) return '';
  return JSON.stringify(v);
}

/** @param {Uint8Array|string} payload */
export function decodeValue(payload) {
  const s = text(payload);
  if (s === '') return undefined;
  return JSON.parse(s);
}

/** A random hex string of n bytes. */
export function randomHex(n) {
  const b = new Uint8Array(n);
  globalThis.crypto.getRandomValues(b);
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
}

/**
 * The single value of an MQTT 5 user property, or ''.
 * @param {any} packet
 * @param {string} key
 */
export function userProp(packet, key) {
  const v = packet?.properties?.userProperties?.[key];
  if (Array.isArray(v)) return v[0] ?? '';
  return v ?? '';
}

/**
 * A received message as handlers see it.
 * @param {string} topic
 * @param {Uint8Array} payload
 * @param {any} packet
 */
export function toMessage(topic, payload, packet) {
  const t = parseThingTopic(topic);
  const raw = text(payload);
  let value;
  if (raw !== '') {
    try {
      value = JSON.parse(raw);
    } catch {
      value = undefined;
    }
  }
  const time = userProp(packet, 'time');
  return {
    topic,
    kind: t?.kind ?? '',
    thingId: t?.thingId ?? '',
    name: t?.name ?? '',
    value,
    text: raw,
    retained: !!packet?.retain,
    sender: userProp(packet, 'sender'),
    time: time ? new Date(time) : undefined,
    userProperties: packet?.properties?.userProperties ?? {},
  };
}

/**
 * Bounds a promise by a deadline: it rejects with TimeoutError then.
 * @template T
 * @param {Promise<T>} p
 * @param {number} deadline
 * @param {string} what
 * @returns {Promise<T>}
 */
export function withDeadline(p, deadline, what) {
  const ms = deadline - Date.now();
  let timer;
  const t = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new TimeoutError(codes.timeout, `${what}: no answer in time`)), Math.max(0, ms));
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
