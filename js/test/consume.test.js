// Every API of the client against a real hub: a JavaScript agent exposes a
// lamp, a JavaScript consumer uses it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, exposeLamp, uniqueId, waiter, until } from './helpers.js';

test('directory: things, thing, watchThings', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:dir:${uniqueId('lamp')}`;
  const seen = waiter((v) => v.id === id && v.td === null);
  const w = await app.watchThings((tid, td) => seen.push({ id: tid, td }));
  const lamp = await exposeLamp(agent, id);

  const all = await app.things();
  assert.ok(all.some((td) => td.id === id), 'things() lists the new Thing');
  const thing = await app.thing(id);
  assert.equal(thing.id, id);
  assert.equal(thing.td.title, 'Lamp');
  assert.ok(thing.td.actions.toggle.forms.length > 0, 'the twin TD has the hub\'s forms');

  await lamp.destroy();
  await seen.got;
  assert.ok(seen.seen.some((v) => v.id === id && v.td?.id === id), 'watchThings saw the TD before the deletion');
  await w.stop();
});

test('properties: read, readAll, observe, write with the agent\'s clamp', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:props:${uniqueId('lamp')}`;
  const lamp = await exposeLamp(agent, id);
  const thing = await app.thing(id);

  assert.equal(await thing.readProperty('on'), false);
  assert.deepEqual(await thing.readAllProperties(), { on: false, brightness: 10, model: 'L-1' });

  const values = waiter((v) => v === 90);
  const sub = await thing.observeProperty('brightness', (v, m) => {
    assert.equal(m.sender, agent.accountId);
    values.push(v);
  });
  const all = waiter((v) => v.name === 'brightness' && v.value === 90);
  const suball = await thing.observeAllProperties((name, value) => all.push({ name, value }));

  const statuses = [];
  await thing.writeProperty('brightness', 95, { onStatus: (u) => statuses.push(u.status) });
  assert.equal(await values.got, 90);
  await all.got;
  assert.deepEqual(values.seen, [10, 90], 'the retained value first, then the clamped write');
  assert.equal(statuses.at(-1), 'completed');
  assert.equal(await thing.readProperty('brightness'), 90);
  await sub.stop();
  await suball.stop();
  await lamp.updateProperty('brightness', 20);
  assert.deepEqual(values.seen, [10, 90], 'no value after stop');
});

test('events: subscribeEvent, subscribeAllEvents, to(id).on', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:events:${uniqueId('lamp')}`;
  const lamp = await exposeLamp(agent, id);
  const thing = await app.thing(id);

  const one = waiter((v) => v === 81.5);
  await thing.subscribeEvent('overheating', (data, m) => {
    assert.equal(m.name, 'overheating');
    assert.ok(m.time instanceof Date);
    one.push(data);
  });
  const every = waiter((v) => v.name === 'overheating' && v.data === 81.5);
  await thing.subscribeAllEvents((name, data) => every.push({ name, data }));
  const short = waiter((v) => v === 81.5);
  await app.to(id).on('overheating', (data) => short.push(data));

  await lamp.publishEvent('overheating', 80);
  await lamp.emit('overheating', 81.5); // PhyStack's broadcast
  assert.deepEqual([await one.got, (await every.got).data, await short.got], [81.5, 81.5, 81.5]);
  assert.deepEqual(one.seen, [80, 81.5]);
});

test('actions: invoke with statuses, async with updates, emit, query, history', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:actions:${uniqueId('lamp')}`;
  await exposeLamp(agent, id);
  const thing = await app.thing(id);

  const statuses = [];
  const out = await thing.invokeAction('fade', { to: 30 }, { onStatus: (u) => statuses.push(u) });
  assert.equal(out, 30);
  assert.deepEqual(statuses.map((u) => u.status), ['delivered', 'running', 'completed']);
  assert.deepEqual(statuses[1].value, { at: 50 }, 'progress comes with running');
  const actionId = statuses[0].actionId;
  assert.ok(actionId, 'the first status tells the action ID');

  const inv = await thing.invokeActionAsync('fade', { to: 40 });
  const seen = [];
  for await (const u of inv.updates()) seen.push(u.status);
  assert.deepEqual(seen, ['delivered', 'running', 'completed']);
  assert.equal(await inv.result(), 40);
  assert.ok(inv.actionId);

  const rec = await thing.queryAction('fade');
  assert.equal(rec.id, inv.actionId);
  assert.equal(rec.status, 'completed');
  assert.equal(rec.output, 40);
  assert.equal(rec.sender, app.accountId);

  const hist = await thing.actionHistory('fade');
  assert.deepEqual(hist.map((r) => r.id), [inv.actionId, actionId], 'newest first');

  assert.equal(await thing.invokeAction('echo', 7), 7);
  await thing.emit('toggle'); // fire-and-forget: the agent still gets it
  await until(async () => (await thing.readProperty('on')) === true, 'toggle by emit');
});

test('cancel: a running action is cancelled through the agent', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:cancel:${uniqueId('lamp')}`;
  await exposeLamp(agent, id);
  const thing = await app.thing(id);

  const inv = await thing.invokeActionAsync('slow', 60_000, { timeout: 30_000 });
  assert.ok(inv.actionId);
  const rec = await inv.cancel();
  assert.equal(rec.id, inv.actionId);
  await assert.rejects(inv.result(), (err) => err.code === 'cancelled' && err.name === 'CancelledError');
  const last = await thing.queryAction('slow');
  assert.equal(last.status, 'failed');
  assert.equal(last.error.code, 'cancelled');
});

test('history: thing, event and property pages', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:history:${uniqueId('lamp')}`;
  const lamp = await exposeLamp(agent, id);
  const thing = await app.thing(id);
  for (const v of [70, 71, 72]) await lamp.publishEvent('overheating', v);

  const ev = await thing.eventHistory('overheating', { limit: 2 });
  assert.deepEqual(ev.items.map((i) => i.value), [70, 71]);
  assert.ok(ev.next, 'a cursor for the next page');
  const ev2 = await thing.eventHistory('overheating', { limit: 2, cursor: ev.next });
  assert.deepEqual(ev2.items.map((i) => i.value), [72]);
  assert.equal(ev2.next, undefined);

  const prop = await thing.propertyHistory('brightness');
  assert.deepEqual(prop.items.map((i) => i.value), [10]);
  const all = await thing.history({ from: new Date(Date.now() - 60_000) });
  assert.ok(all.items.some((i) => i.kind === 'event') && all.items.some((i) => i.kind === 'property'));
  const latest = await thing.history({ latest: true });
  assert.ok(latest.items.some((i) => i.name === 'overheating' && i.value === 72));
});

test('presence: online, sleeping, offline when the agent leaves', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:presence:${uniqueId('lamp')}`;
  const lamp = await exposeLamp(agent, id);
  const thing = await app.thing(id);
  const states = waiter((p) => p.state === 'offline');
  await thing.observePresence((p) => states.push(p));
  await lamp.setPresence('sleeping');
  await until(() => states.seen.some((p) => p.state === 'sleeping'), 'sleeping');
  await agent.close();
  await states.got;
  const seqs = states.seen.map((p) => p.seq);
  assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
  assert.equal(states.seen[0].state, 'online');
});

test('desired state and delta: a write to an offline agent waits', async (t) => {
  const agentId = uniqueId('agent');
  const agent = await client(t, { clientId: agentId, sessionExpiry: 0 });
  const app = await client(t);
  const id = `urn:js:desired:${uniqueId('lamp')}`;
  await exposeLamp(agent, id);
  const thing = await app.thing(id);
  await agent.close();

  const desired = waiter((d) => d?.value === 55);
  await thing.observeDesired('brightness', (d) => desired.push(d));
  const delta = waiter((d) => d.brightness?.desired === 55);
  await thing.observeDelta((d) => delta.push(d));
  const write = thing.writeProperty('brightness', 55, { timeout: 30_000 });
  const d = await desired.got;
  assert.equal(d.version >= 1, true);
  assert.equal((await delta.got).brightness.reported, 10);

  // The agent comes back: the write is delivered, applied and reported.
  const back = await client(t, { clientId: agentId });
  const ended = waiter((x) => x === null);
  await thing.observeDesired('brightness', (x) => ended.push(x));
  await exposeLamp(back, id, { initial: false });
  await write;
  await ended.got;
  assert.equal(await thing.readProperty('brightness'), 55);
});

test('PhyStack shorthand: to(id).emit with and without a callback, on(type) with respond', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:phystack:${uniqueId('screen')}`;
  const screen = agent.produce({
    '@context': 'https://www.w3.org/2022/wot/td/v1.1', id, title: 'Screen',
    security: ['nosec_sc'], securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
    actions: { show: { input: { type: 'string' } }, ask: { input: { type: 'string' } }, note: {} },
  });
  const notes = waiter();
  screen.on('show', (text, respond) => {
    setTimeout(() => respond({ status: 'success', data: `showing ${text}` }), 10); // later, from a callback
  });
  screen.on('ask', (q, respond) => respond({ status: 'error', message: `cannot answer ${q}` }));
  screen.on('note', (data, respond, req) => { notes.push(req.sender); respond(); });
  await screen.expose();

  const results = [];
  const r = await app.to(id).emit('show', 'hello', (res) => results.push(res));
  assert.deepEqual(r, { status: 'success', data: 'showing hello' });
  assert.deepEqual(results, [r]);
  const e = await app.to(id).emit('ask', 'why', () => {});
  assert.equal(e.status, 'error');
  assert.equal(e.code, 'agent_error');
  assert.equal(e.message, 'cannot answer why');
  await app.to(id).emit('note'); // no callback: fire-and-forget
  assert.equal(await notes.got, app.accountId);
});

test('close sends the answers of handlers that finished before it disconnects', async (t) => {
  const agent = await client(t);
  const app = await client(t);
  const id = `urn:js:close:${uniqueId('tab')}`;
  const tab = agent.produce({
    '@context': 'https://www.w3.org/2022/wot/td/v1.1', id, title: 'Tab',
    security: ['nosec_sc'], securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
    actions: { greet: { input: { type: 'string' }, output: { type: 'string' } } },
  });
  const greeted = waiter();
  tab.on('greet', (who, respond) => {
    respond({ status: 'success', data: `hello ${who}` });
    greeted.push(who);
  });
  await tab.expose();
  const r = app.to(id).request('greet', 'you');
  await greeted.got;
  await agent.close(); // at once: the answer still goes out
  assert.deepEqual(await r, { status: 'success', data: 'hello you' });
});
