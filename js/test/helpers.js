// Helpers of the Node tests. The hub is started by the Go test that runs
// them (js_test.go), which passes its WebSocket URL in WOTMQ_WS_URL.

import { connect } from '../src/index.js';

export const url = process.env.WOTMQ_WS_URL;
if (!url) {
  throw new Error('WOTMQ_WS_URL is not set: run these tests with go test ./js (it starts a hub)');
}

/** Bounds every wait of a test. */
export const WAIT = 15_000;

let n = 0;
/** A client ID unique to this process. */
export function uniqueId(prefix) {
  return `${prefix}-${process.pid}-${++n}`;
}

/**
 * Connects a client, closed when the test ends.
 * @param {import('node:test').TestContext} t
 */
export async function client(t, opts = {}, at = url) {
  const c = await connect(at, { clientId: uniqueId('js'), ...opts });
  t.after(() => c.close());
  return c;
}

/** A TD of a test lamp with every kind of affordance. */
export function lampTD(id) {
  const pct = { type: 'integer', minimum: 0, maximum: 100 };
  return {
    '@context': 'https://www.w3.org/2022/wot/td/v1.1',
    id,
    title: 'Lamp',
    security: ['nosec_sc'],
    securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
    properties: {
      on: { type: 'boolean', observable: true },
      brightness: { ...pct, observable: true },
      model: { type: 'string', readOnly: true },
    },
    events: { overheating: { data: { type: 'number' } } },
    actions: {
      toggle: { output: { type: 'boolean' } },
      fade: { input: { type: 'object', properties: { to: pct }, required: ['to'] }, output: pct },
      echo: { safe: true, input: { type: 'integer' }, output: { type: 'integer' } },
      slow: { input: { type: 'integer' } },
      fail: {},
    },
  };
}

/**
 * Exposes a lamp with handlers: toggle flips `on`, fade reports progress
 * and returns its target, echo returns its input, slow waits its input in
 * ms (or until cancelled), fail throws.
 */
export async function exposeLamp(agent, id, { initial = true } = {}) {
  const lamp = agent.produce(lampTD(id));
  let on = false;
  lamp.handleAction('toggle', async () => {
    on = !on;
    await lamp.updateProperty('on', on);
    return on;
  });
  lamp.handleAction('fade', async (input, req) => {
    await req.progress({ at: 50 });
    return input.to;
  });
  lamp.handleAction('echo', (n) => n);
  lamp.handleAction('slow', (ms, req) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(), ms);
    req.signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(req.signal.reason);
    });
  }));
  lamp.handleAction('fail', () => {
    throw new Error('the bulb is broken');
  });
  lamp.handleWrite('brightness', (v) => Math.min(v, 90)); // clamps
  await lamp.expose();
  if (initial) await lamp.updateProperties({ on: false, brightness: 10, model: 'L-1' });
  return lamp;
}

/** Resolves with the first value passed to the returned push function that satisfies pred. */
export function waiter(pred = () => true) {
  let resolve;
  const got = new Promise((r) => { resolve = r; });
  const seen = [];
  const push = (v) => {
    seen.push(v);
    if (pred(v)) resolve(v);
  };
  return { push, got: within(got, WAIT, 'waiter'), seen };
}

/** Rejects when p takes longer than ms. */
export function within(p, ms, what) {
  let timer;
  return Promise.race([
    p,
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms); }),
  ]).finally(() => clearTimeout(timer));
}

/** Polls cond until it is true, or fails after WAIT. */
export async function until(cond, what) {
  const deadline = Date.now() + WAIT;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`${what}: not so after ${WAIT} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
