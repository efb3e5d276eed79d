// Reconnection: a TCP proxy in front of the hub's WebSocket listener cuts
// a client's connection while requests, replies and events are in flight.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { client, exposeLamp, uniqueId, url, waiter, until, within, WAIT } from './helpers.js';

/**
 * A TCP proxy to the hub. cut() drops every connection; hold() makes new
 * ones fail until release(); blackhole() stops forwarding the hub's bytes
 * (the client's still go through) until the next cut.
 */
async function proxy(t) {
  const target = new URL(url);
  const conns = new Set();
  let held = false;
  let dark = false;
  const server = net.createServer((down) => {
    if (held) {
      down.destroy();
      return;
    }
    const up = net.connect(Number(target.port), target.hostname);
    const pair = { up, down };
    conns.add(pair);
    up.on('data', (b) => { if (!dark) down.write(b); });
    down.on('data', (b) => up.write(b));
    const end = () => {
      conns.delete(pair);
      up.destroy();
      down.destroy();
    };
    up.on('close', end).on('error', end);
    down.on('close', end).on('error', end);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  // This runs before the clients' own after hooks (registered later), while
  // a client may still reconnect through the proxy: new connections are
  // refused from here on, else server.close would wait for ever for the
  // one a client opened after the others were destroyed.
  t.after(() => new Promise((resolve) => {
    held = true;
    for (const c of conns) { c.up.destroy(); c.down.destroy(); }
    server.close(resolve);
  }));
  return {
    url: `ws://127.0.0.1:${server.address().port}${target.pathname}`,
    cut() {
      dark = false;
      for (const c of conns) { c.up.destroy(); c.down.destroy(); }
      conns.clear();
    },
    hold() { held = true; },
    open() { return conns.size; },
    release() { held = false; },
    blackhole() { dark = true; },
  };
}

/** Connects a client through the proxy, reconnecting quickly. */
function viaProxy(t, p, opts = {}) {
  return client(t, { reconnectPeriod: 50, ...opts }, p.url);
}

/** Resolves on the client's next event (connect or offline). */
function next(c, event) {
  return within(new Promise((resolve) => {
    const fn = () => { c.off(event, fn); resolve(); };
    c.on(event, fn);
  }), WAIT, event);
}

/** Holds the proxy's new connections and cuts the open ones: resolves once c is offline. */
async function cutOff(p, c) {
  const offline = next(c, 'offline');
  p.hold();
  p.cut();
  await offline;
}

/**
 * The set-up most tests share: a proxy, an agent (direct) exposing a lamp,
 * a consumer through the proxy (opts for its client) and its view of the lamp.
 */
async function lampThroughProxy(t, opts) {
  const p = await proxy(t);
  const agent = await client(t);
  const app = await viaProxy(t, p, opts);
  const id = `urn:js:reconnect:${uniqueId('lamp')}`;
  const lamp = await exposeLamp(agent, id);
  const thing = await app.thing(id);
  return { p, app, id, lamp, thing };
}

test('a reply sent while the consumer is away arrives on reconnection (persistent session)', async (t) => {
  const { p, app, id, thing } = await lampThroughProxy(t);
  const observer = await client(t);
  const watch = await observer.thing(id);

  const statuses = [];
  const delivered = waiter((u) => u.status === 'delivered');
  const call = thing.invokeAction('slow', 300, { onStatus: (u) => { statuses.push(u.status); delivered.push(u); } });
  await delivered.got;
  await cutOff(p, app);
  // The agent answers while the consumer is away: the hub queues the reply.
  await until(async () => (await watch.queryAction('slow')).status === 'completed', 'slow completed');
  const back = next(app, 'connect');
  p.release();
  await back;
  await call;
  assert.deepEqual(statuses, ['delivered', 'completed']);
});

test('events published while the consumer is away arrive, and the subscription goes on', async (t) => {
  const { p, app, lamp, thing } = await lampThroughProxy(t);
  const events = waiter((v) => v === 3);
  await thing.subscribeEvent('overheating', (v) => events.push(v));
  await lamp.publishEvent('overheating', 1);
  await until(() => events.seen.includes(1), 'event 1');

  await cutOff(p, app);
  await lamp.publishEvent('overheating', 2);
  const back = next(app, 'connect');
  p.release();
  await back;
  await lamp.publishEvent('overheating', 3);
  await events.got;
  assert.deepEqual(events.seen, [1, 2, 3]);
});

test('a request made while the connection is down goes out on reconnection', async (t) => {
  const { p, app, thing } = await lampThroughProxy(t);
  await cutOff(p, app);
  const call = thing.invokeAction('fade', { to: 42 });
  p.release();
  assert.equal(await call, 42);
});

test('the hub lost the session (sessionExpiry 0): the outcome comes from the status record, subscriptions come back', async (t) => {
  const { p, app, id, lamp, thing } = await lampThroughProxy(t, { sessionExpiry: 0 });
  const observer = await client(t);
  const watch = await observer.thing(id);
  const values = waiter((v) => v === 77);
  await thing.observeProperty('brightness', (v) => values.push(v));

  const delivered = waiter((u) => u.status === 'delivered');
  const call = thing.invokeAction('fade', { to: 33 }, { onStatus: (u) => delivered.push(u) });
  const slow = thing.invokeAction('slow', 200, { onStatus: (u) => delivered.push(u) });
  await until(() => delivered.seen.filter((u) => u.status === 'delivered').length === 2, 'both delivered');
  await cutOff(p, app);
  await until(async () => (await watch.queryAction('slow')).status === 'completed', 'slow completed');
  await lamp.updateProperty('brightness', 77); // while away: comes back as the retained value
  p.release();
  assert.equal(await call, 33);
  assert.equal(await slow, undefined, 'slow: from its status record');
  await values.got;
});

test('a request whose PUBACK was lost is sent again; its duplicate\'s refusal is not its outcome', async (t) => {
  const { p, app, id, thing } = await lampThroughProxy(t);
  const observer = await client(t);
  const watch = await observer.thing(id);

  await t.test('RunningDuplicateRefusedBusy', async () => {
    p.blackhole(); // the hub gets the request; its PUBACK and statuses are lost
    const call = thing.invokeAction('slow', 800);
    await until(async () => (await watch.queryAction('slow').catch(() => null))?.status === 'delivered', 'delivered');
    p.cut(); // MQTT.js sends the request again: the hub refuses the copy (busy)
    assert.equal(await call, undefined);
    const hist = await watch.actionHistory('slow');
    assert.equal(hist[0].status, 'completed');
  });

  await t.test('PendingDuplicateSupersedes', async () => {
    const agentId = uniqueId('agent');
    const away = await client(t, { clientId: agentId });
    const other = `${id}-pending`;
    await exposeLamp(away, other);
    await away.close(); // requests wait as pending
    const th = await app.thing(other);
    const w = await observer.thing(other);
    p.blackhole();
    const call = th.invokeAction('fade', { to: 12 }, { timeout: 20_000 });
    await until(async () => (await w.queryAction('fade').catch(() => null))?.status === 'pending', 'pending');
    p.cut(); // the copy replaces the original (superseded): the call follows the copy
    await until(async () => (await w.actionHistory('fade')).some((r) => r.error?.code === 'superseded'), 'superseded');
    await exposeLamp(await client(t, { clientId: agentId }), other, { initial: false });
    assert.equal(await call, 12);
  });
});

test('an agent away gets the request on reconnection and answers it', async (t) => {
  const p = await proxy(t);
  const agent = await viaProxy(t, p);
  const app = await client(t);
  const id = `urn:js:reconnect:${uniqueId('lamp')}`;
  await exposeLamp(agent, id);
  const thing = await app.thing(id);
  await cutOff(p, agent);
  const statuses = [];
  const call = thing.invokeAction('fade', { to: 64 }, { onStatus: (u) => statuses.push(u.status) });
  // pending, or delivered into the agent's session when the hub has not
  // noticed yet that the connection dropped
  await until(() => statuses.length > 0, 'the first status while the agent is away');
  p.release();
  const got = await within(call, WAIT, `the outcome (statuses so far: ${statuses.join(', ')})`)
    .catch((err) => { throw new Error(`${err.message}; statuses: ${statuses.join(', ')}`); });
  assert.equal(got, 64);
  assert.deepEqual(statuses.slice(-2), ['running', 'completed']);
});

test('with a list of URLs the client moves to the next when its own goes away', async (t) => {
  const first = await proxy(t);
  const second = await proxy(t);
  const agent = await client(t);
  const app = await client(t, { reconnectPeriod: 50 }, [first.url, second.url]);
  assert.equal(app.urls.length, 2);
  assert.equal(second.open(), 0, 'the client starts with the first URL');
  const id = `urn:js:reconnect:${uniqueId('lamp')}`;
  await exposeLamp(agent, id);
  const thing = await app.thing(id);

  // The first stays away: the client comes back through the second.
  const back = next(app, 'connect');
  first.hold();
  first.cut();
  await back;
  assert.equal(second.open(), 1, 'the client reconnected through the second URL');
  assert.equal(await thing.invokeAction('echo', 7), 7);
});

test('close ends a client whose publishes in flight will never be acknowledged', async (t) => {
  // MQTT.js's end() waits for the acknowledgement of every publish in
  // flight: a client whose connection was down, or whose hub's answers no
  // longer arrived, never closed (CI: this file timed out in a test's
  // clean-up after the proxy had cut the connection).
  for (const how of ['down', 'silent']) {
    const { p, app, thing } = await lampThroughProxy(t);
    p.blackhole(); // the hub's PUBACK never reaches the client
    const call = thing.invokeAction('fade', { to: 5 }).catch((err) => err);
    await until(() => Object.keys(app._m.outgoing).length > 0, 'a publish in flight');
    if (how === 'down') {
      await cutOff(p, app);
    }
    await within(app.close(), WAIT, `close (${how})`);
    assert.ok((await call) instanceof Error, 'the call ends with the client');
  }
});
