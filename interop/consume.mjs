// Eclipse node-wot consumes a wotmq twin from its TD alone.
//
//   node consume.mjs TD_URL
//
// Over the HTTP forms (node-wot's choice: the scheme of the first form) and
// then, with formIndex, over the MQTT forms, it reads, writes, observes a
// property, subscribes to an event, and invokes an action and gets its
// output. The Thing's agent (interop_test.go) reports every written value
// and emits the event "overheating" with the input of each "fade". Each
// step prints one line; the last is "ok", and the exit status is 0 only
// when every step passed.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url); // node-wot 0.8 is CommonJS
const { Servient } = require("@node-wot/core");
const { HttpClientFactory } = require("@node-wot/binding-http");
const { MqttClientFactory } = require("@node-wot/binding-mqtt");

const [tdURL] = process.argv.slice(2);
if (!tdURL) {
  console.error("usage: node consume.mjs TD_URL");
  process.exit(2);
}
const deadline = setTimeout(() => {
  console.error("FAIL: not done within 60s");
  process.exit(1);
}, 60000);

function step(msg) {
  console.log(msg);
}

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

// until resolves when pred(value) holds for a value pushed to the returned
// push function; it fails after ms.
function waiter(pred, what, ms = 10000) {
  let resolve;
  const seen = [];
  const p = new Promise((res, rej) => {
    resolve = res;
    setTimeout(() => rej(new Error(`${what}: not within ${ms} ms (saw ${JSON.stringify(seen)})`)), ms);
  });
  return {
    push(v) {
      seen.push(v);
      if (pred(v)) resolve(v);
    },
    done: p,
  };
}

// formIndex finds the index of the MQTT form of an affordance for op.
function mqttForm(forms, op) {
  const i = forms.findIndex((f) => f.href.startsWith("mqtt") && [].concat(f.op ?? []).includes(op));
  check(i >= 0, `no MQTT form for ${op}`);
  return i;
}

async function viaHTTP(WoT, td) {
  const thing = await WoT.consume(td);
  // HTTP hrefs are relative to the twin's base (node-wot resolves them).
  check(new URL(td.properties.brightness.forms[0].href, td.base).protocol === "http:", "the first form is not HTTP");

  const v0 = await (await thing.readProperty("brightness")).value();
  check(v0 === 10, `readproperty: ${v0}, want 10`);
  step(`http readproperty brightness = ${v0}`);

  const observed = waiter((v) => v === 55, "http observeproperty");
  const obs = await thing.observeProperty("brightness", async (out) => observed.push(await out.value()));
  await thing.writeProperty("brightness", 55);
  step("http writeproperty brightness = 55");
  await observed.done;
  step("http observeproperty brightness saw 55");
  await obs.stop();

  const v1 = await (await thing.readProperty("brightness")).value();
  check(v1 === 55, `readproperty after the write: ${v1}, want 55`);
  step(`http readproperty brightness = ${v1}`);

  const events = waiter((v) => v === 77, "http subscribeevent");
  const sub = await thing.subscribeEvent("overheating", async (out) => events.push(await out.value()));
  const out = await (await thing.invokeAction("fade", { to: 77 })).value();
  check(out === 77, `invokeaction output ${JSON.stringify(out)}, want 77`);
  step(`http invokeaction fade {to: 77} = ${out}`);
  await events.done;
  step("http subscribeevent overheating saw 77");
  await sub.stop();
}

async function viaMQTT(WoT, servient, td) {
  const thing = await WoT.consume(td); // a fresh consumer: no HTTP client cached
  const p = td.properties.brightness.forms;

  const v0 = await (await thing.readProperty("brightness", { formIndex: mqttForm(p, "readproperty") })).value();
  check(v0 === 55, `mqtt readproperty: ${v0}, want 55`);
  step(`mqtt readproperty brightness = ${v0}`);

  const observed = waiter((v) => v === 66, "mqtt observeproperty");
  await thing.observeProperty("brightness", async (out) => observed.push(await out.value()), undefined, {
    formIndex: mqttForm(p, "observeproperty"),
  });
  await thing.writeProperty("brightness", 66, { formIndex: mqttForm(p, "writeproperty") });
  step("mqtt writeproperty brightness = 66");
  await observed.done;
  step("mqtt observeproperty brightness saw 66");

  const events = waiter((v) => v === 88, "mqtt subscribeevent");
  await thing.subscribeEvent("overheating", async (out) => events.push(await out.value()), undefined, {
    formIndex: mqttForm(td.events.overheating.forms, "subscribeevent"),
  });
  // node-wot's MQTT binding publishes the input and returns no output; the
  // outcome is the action's status record, on the topic of its queryaction
  // form, which the binding's client subscribes to here.
  const a = td.actions.fade.forms;
  const status = waiter((s) => s.status === "completed" && s.input?.to === 88, "mqtt queryaction");
  const mqtt = servient.getClientFor("mqtt");
  await mqtt.subscribeResource(a[mqttForm(a, "queryaction")], async (content) => {
    status.push(JSON.parse((await content.toBuffer()).toString()));
  });
  await thing.invokeAction("fade", { to: 88 }, { formIndex: mqttForm(a, "invokeaction") });
  step("mqtt invokeaction fade {to: 88}");
  const st = await status.done;
  check(st.output === 88, `mqtt queryaction output ${JSON.stringify(st.output)}, want 88`);
  step(`mqtt queryaction fade: ${st.status}, output ${st.output}`);
  await events.done;
  step("mqtt subscribeevent overheating saw 88");
}

try {
  const servient = new Servient();
  servient.addClientFactory(new HttpClientFactory(null));
  servient.addClientFactory(new MqttClientFactory());
  const WoT = await servient.start();
  const res = await fetch(tdURL, { headers: { Accept: "application/td+json" } });
  check(res.ok, `GET ${tdURL}: ${res.status}`);
  const td = await res.json();
  await viaHTTP(WoT, td);
  await viaMQTT(WoT, servient, td);
  clearTimeout(deadline);
  step("ok");
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
}
