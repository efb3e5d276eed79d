// A wotmq consumer in JavaScript: MQTT.js over WebSocket, driven by the
// forms of the twin Thing Descriptions the hub serves. It hard-codes no
// topic of a Thing: it reads them from the TD, as any WoT consumer would.
//
//   node consumer.mjs [URL] [THING-ID] [SECONDS]
//
// URL defaults to ws://localhost:9001 (the hub's WebSocket listener).
// Without THING-ID it uses the first Thing that has a "toggle" action. It
// prints the Thing's property values and events, invokes toggle once and
// prints the output, then listens for SECONDS more (default 5) and exits.
// In a browser, with MQTT.js's browser bundle, the MQTT calls are the
// same; process.argv, node:crypto and Buffer are Node's.
import mqtt from 'mqtt';
import { randomBytes } from 'node:crypto';

const url = process.argv[2] || 'ws://localhost:9001';
const wantedID = process.argv[3] || '';
const listen = Number(process.argv[4] ?? 5);

// Who we are. A hub started with --dev admits clients from this machine
// without a password, as the account named by their username; elsewhere,
// use an account's username and password (or an access token).
const username = process.env.WOTMQ_USERNAME || 'js-app';
const password = process.env.WOTMQ_PASSWORD || undefined;
const clientId = `${username}-${randomBytes(4).toString('hex')}`;
// Replies come back on a topic under replies/{account}/, which only this
// account may subscribe to. The account is our username.
const replyTopic = `replies/${username}/${clientId}`;

const log = (...args) => console.log(...args);
const text = (buf) => buf.toString('utf8') || '(empty)';

// form returns the MQTT topic (mqv:topic) or filter (mqv:filter) of the
// first form of an affordance (or of the Thing) that does op.
function form(forms, op) {
  for (const f of forms ?? []) {
    const ops = Array.isArray(f.op) ? f.op : [f.op];
    if (ops.includes(op) && (f['mqv:topic'] || f['mqv:filter'])) {
      return f['mqv:topic'] || f['mqv:filter'];
    }
  }
  throw new Error(`no MQTT form with op ${op}`);
}

const client = await mqtt.connectAsync(url, {
  protocolVersion: 5, // MQTT 5: user properties, ResponseTopic, CorrelationData
  clientId,
  username,
  password,
  reconnectPeriod: 0, // an example: fail rather than retry forever
});
log(`connected to ${url} as ${clientId} (account ${username})`);

// handlers maps a topic to the function that prints its messages.
const handlers = new Map();
client.on('message', (topic, payload, packet) => {
  const h = handlers.get(topic);
  if (h) h(payload, packet);
});

// 1. Discovery: every twin TD is retained on things/{id}/td.
const td = await new Promise((resolve, reject) => {
  const onTD = (topic, payload) => {
    if (!/^things\/[^/]+\/td$/.test(topic) || payload.length === 0) return;
    const t = JSON.parse(payload.toString('utf8'));
    log(`discovered ${t.id} "${t.title}"`);
    if (wantedID ? t.id === wantedID : t.actions?.toggle) {
      client.off('message', onTD);
      resolve(t);
    }
  };
  client.on('message', onTD);
  client.subscribeAsync('things/+/td', { qos: 1 }).catch(reject);
});
await client.unsubscribeAsync('things/+/td');
log(`using ${td.id}`);

// 2. Events and property values, on the filters their forms name. A
// property's value is retained: subscribing reads it (readproperty), and
// every change follows (observeproperty).
for (const [name, ev] of Object.entries(td.events ?? {})) {
  const filter = form(ev.forms, 'subscribeevent');
  handlers.set(filter, (payload) => log(`event ${name}: ${text(payload)}`));
  await client.subscribeAsync(filter, { qos: 1 });
  log(`subscribed to event ${name} on ${filter}`);
}
for (const [name, prop] of Object.entries(td.properties ?? {})) {
  const filter = form(prop.forms, 'readproperty');
  handlers.set(filter, (payload) => log(`property ${name} = ${text(payload)}`));
  await client.subscribeAsync(filter, { qos: 1 });
}

// 3. Invoke toggle on the topic of its invokeaction form, with a
// ResponseTopic and CorrelationData (MQTT 5 request/response). The user
// property replies=final asks the hub for the outcome only, not every
// status (pending, delivered, running...).
if (td.actions?.toggle) {
  const topic = form(td.actions.toggle.forms, 'invokeaction');
  const correlation = randomBytes(8);
  const outcome = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('toggle: no outcome within 30 s')), 30_000);
    handlers.set(replyTopic, (payload, packet) => {
      const p = packet.properties ?? {};
      if (!correlation.equals(p.correlationData ?? Buffer.alloc(0))) return;
      clearTimeout(timer);
      resolve({ payload, user: p.userProperties ?? {} });
    });
  });
  await client.subscribeAsync(replyTopic, { qos: 1 });
  await client.publishAsync(topic, '', {
    qos: 1,
    properties: {
      responseTopic: replyTopic,
      correlationData: correlation,
      userProperties: { replies: 'final' },
      messageExpiryInterval: 30, // the hub drops the request after 30 s
    },
  });
  log(`invoked toggle on ${topic}, replies on ${replyTopic}`);
  const { payload, user } = await outcome;
  if (user.status === 'failed') {
    log(`toggle: failed: ${user.error}: ${user.message}`);
  } else {
    log(`toggle: ${user.status}, output ${text(payload)}`);
  }
}

await new Promise((resolve) => setTimeout(resolve, listen * 1000));
await client.endAsync();
log('done');
