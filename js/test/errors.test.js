// Typed errors carrying the hub's codes: every refusal and failure a
// client meets, with its class and code.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connect, NotFoundError, InvalidInputError, DeniedError, BusyError, OfflineError, AgentError,
  TimeoutError, ClosedError, NoValueError, ExpiredError, CancelledError, WotError,
} from '../src/index.js';
import { client, exposeLamp, lampTD, uniqueId, url, until } from './helpers.js';

/** Cancels the unfinished request of an action, if any, and waits until it ended. */
async function settle(thing, name) {
  await thing.cancelAction(name).catch(() => {});
  await until(async () => ['completed', 'failed'].includes((await thing.queryAction(name)).status), `${name} ended`);
}

/** Checks that a promise rejects with an error of class C and code. */
async function rejectsWith(p, C, code) {
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof C, `${err?.name}: ${err?.message}, want ${C.name}`);
    assert.ok(err instanceof WotError);
    if (code) assert.equal(err.code, code, err.message);
    return true;
  });
}

test('errors carry the hub\'s codes', async (t) => {
  const agentId = uniqueId('agent');
  const agent = await client(t, { clientId: agentId });
  const app = await client(t);
  const id = `urn:js:errors:${uniqueId('lamp')}`;
  const lamp = await exposeLamp(agent, id);
  const thing = await app.thing(id);

  await t.test('UnknownThing', () => rejectsWith(app.thing('urn:js:nobody'), NotFoundError, 'unknown_thing'));
  await t.test('UnknownAffordance', () => rejectsWith(thing.invokeAction('explode'), NotFoundError, 'unknown_affordance'));
  await t.test('UnknownAffordanceByID', async () => {
    const r = await app.to(id).request('explode');
    assert.equal(r.status, 'error');
    assert.equal(r.code, 'unknown_affordance');
  });
  await t.test('InvalidInput', async () => {
    await rejectsWith(thing.invokeAction('fade', { to: 500 }), InvalidInputError, 'invalid_payload');
  });
  await t.test('PubackReasonCode', async () => {
    await assert.rejects(thing.emit('fade', 'not an object'), (err) => err.code === 'invalid_payload' && err.reasonCode === 0x99);
  });
  await t.test('ReadOnly', () => rejectsWith(thing.writeProperty('model', 'X'), InvalidInputError, 'read_only'));
  await t.test('InvalidTD', async () => {
    const bad = agent.produce({ ...lampTD(`${id}-bad`), title: undefined });
    await rejectsWith(bad.expose(), InvalidInputError, 'invalid_td');
  });
  await t.test('InvalidEventData', () => rejectsWith(lamp.publishEvent('overheating', 'hot'), InvalidInputError, 'invalid_payload'));
  await t.test('AgentError', () => rejectsWith(thing.invokeAction('fail'), AgentError, 'agent_error'));
  await t.test('AgentErrorMessage', async () => {
    await assert.rejects(thing.invokeAction('fail'), /the bulb is broken/);
  });
  await t.test('NoValue', async () => {
    const fresh = await app.thing(id);
    await rejectsWith(fresh.queryAction('toggle'), NoValueError, 'no_value');
  });
  await t.test('Busy', async () => {
    const inv = await thing.invokeActionAsync('slow', 5_000);
    await rejectsWith(thing.invokeAction('slow', 1), BusyError, 'busy');
    await inv.cancel();
    await rejectsWith(inv.result(), CancelledError, 'cancelled');
  });
  await t.test('Timeout', async () => {
    const start = Date.now();
    await rejectsWith(thing.invokeAction('slow', 3_000, { timeout: 500 }), TimeoutError, 'timeout');
    assert.ok(Date.now() - start < 2_000, 'rejected at the timeout');
    await settle(thing, 'slow');
  });
  await t.test('Finished', async () => {
    const statuses = [];
    await thing.invokeAction('echo', 1, { onStatus: (u) => statuses.push(u) });
    await rejectsWith(thing.cancelAction('echo', statuses[0].actionId), ExpiredError, 'finished');
  });
  await t.test('Aborted', async () => {
    // Aborting stops the wait, not the action: cancel it after.
    const ac = new AbortController();
    let actionId = '';
    const p = thing.invokeAction('slow', 5_000, {
      signal: ac.signal,
      onStatus: (u) => { actionId = u.actionId; ac.abort(); },
    });
    await rejectsWith(p, CancelledError, 'cancelled');
    const rec = await thing.cancelAction('slow', actionId);
    assert.equal(rec.id, actionId);
    await settle(thing, 'slow');
  });
  await t.test('DeniedForAnotherAgentsThing', async () => {
    const other = await client(t);
    const fake = other.produce(lampTD(id));
    await rejectsWith(fake.expose(), DeniedError, 'denied');
  });
  await t.test('DeniedCancelOfAnotherConsumer', async () => {
    const other = await client(t);
    const inv = await thing.invokeActionAsync('slow', 2_000);
    const theirs = await other.thing(id);
    await rejectsWith(theirs.cancelAction('slow', inv.actionId), DeniedError, 'denied');
    await inv.cancel();
    await inv.result().catch(() => {});
  });
  await t.test('Offline', async () => {
    await agent.close();
    await rejectsWith(thing.invokeAction('echo', 1), OfflineError, 'offline'); // a safe action does not wait
  });
  await t.test('Closed', async () => {
    const c = await connect(url, { clientId: uniqueId('closing') });
    const th = await c.thing(id);
    const p = th.invokeAction('toggle', undefined, { timeout: 5_000 }); // the agent is offline: it waits
    const rejected = rejectsWith(p, ClosedError);
    await c.close();
    await rejected;
  });
  await t.test('ToJSON', () => {
    const e = WotError.from('busy', 'try later');
    assert.ok(e instanceof BusyError);
    assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: 'busy', message: 'try later' });
  });
});

test('a refused connection is a DeniedError', async () => {
  // A development hub admits loopback clients without a password, but
  // not a wrong password for an account that exists (its first admin).
  const p = connect(url, { clientId: uniqueId('intruder'), username: 'admin', password: 'wrong' });
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof DeniedError, `${err.name}: ${err.message}`);
    assert.equal(err.code, 'unauthenticated');
    assert.equal(err.reasonCode, 0x86);
    return true;
  });
});

test('channels need RTCPeerConnection: Node has none', async (t) => {
  const { openChannel, serveChannels, channelTopic } = await import('../src/channel.js');
  const app = await client(t);
  await assert.rejects(openChannel(app, 'urn:js:any', 'x'), (err) => err instanceof InvalidInputError && /RTCPeerConnection/.test(err.message));
  assert.throws(() => serveChannels(app.produce(lampTD('urn:js:chan')), {}, () => {}), InvalidInputError);
  const td = (await app.things())[0];
  if (td) assert.ok(channelTopic(td).endsWith('/channel'), 'twin TDs advertise wotmq:channel');
});
