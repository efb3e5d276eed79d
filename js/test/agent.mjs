// A JavaScript agent for the Go SDK's side of the interop test
// (js_test.go, TestGoConsumer): it exposes a greeter, prints
// "ready {thingID}" and serves until it is killed.
//
//   node test/agent.mjs ws://127.0.0.1:9001
import { connect, WotError, codes } from '../src/index.js';

const id = 'urn:dev:js:greeter';
const agent = await connect(process.argv[2], { clientId: 'js-agent' });
const greeter = agent.produce({
  '@context': 'https://www.w3.org/2022/wot/td/v1.1',
  id,
  title: 'Greeter',
  security: ['nosec_sc'],
  securityDefinitions: { nosec_sc: { scheme: 'nosec' } },
  properties: { greeting: { type: 'string', observable: true } },
  events: { greeted: { data: { type: 'string' } } },
  actions: { greet: { input: { type: 'string' }, output: { type: 'string' } } },
});
let greeting = 'hello';
greeter.handleAction('greet', async (who, req) => {
  if (!who) throw new WotError(codes.invalidPayload, 'greet whom?');
  await req.progress({ step: 1 });
  await greeter.publishEvent('greeted', who);
  return `${greeting}, ${who}`;
});
greeter.handleWrite('greeting', (v) => {
  greeting = v;
});
await greeter.expose();
await greeter.updateProperty('greeting', greeting);
console.log(`ready ${id}`);
