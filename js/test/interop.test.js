// The JavaScript client with a Go agent (the Go SDK), whose Thing the Go
// test that runs these tests exposes (js_test.go, exposeCounter).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, waiter } from './helpers.js';

const id = process.env.WOTMQ_GO_THING;

test('a Go agent: invoke with progress, its event and property', { skip: !id && 'WOTMQ_GO_THING not set' }, async (t) => {
  const app = await client(t);
  const thing = await app.thing(id);
  const events = waiter((v) => v === 5);
  await thing.subscribeEvent('added', (v, m) => {
    assert.equal(m.sender, 'go-agent');
    events.push(v);
  });
  const count = waiter();
  await thing.observeProperty('count', (v) => count.push(v));
  const before = await thing.readProperty('count');

  const statuses = [];
  const sum = await thing.invokeAction('add', 5, { onStatus: (u) => statuses.push(u) });
  assert.equal(sum, before + 5);
  assert.deepEqual(statuses.map((u) => u.status), ['delivered', 'running', 'completed']);
  assert.deepEqual(statuses[1].value, { adding: 5 });
  assert.equal(await events.got, 5);
  assert.equal(await thing.readProperty('count'), before + 5);

  const r = await app.to(id).emit('add', 'five', () => {});
  assert.equal(r.status, 'error');
  assert.equal(r.code, 'invalid_payload', 'the hub checks the input schema');
});
