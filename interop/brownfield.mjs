// Eclipse node-wot consumes the twin of an existing MQTT device that the
// hub proxies (docs/brownfield.md), from the twin TD alone.
//
//   node brownfield.mjs TD_URL
//
// The device is a Tasmota-style plug played by a plain MQTT client
// (brownfield_test.go): it obeys cmnd/plug1/POWER and reports on
// stat/plug1/POWER. Over HTTP node-wot reads, observes and writes the
// property "power" and invokes "toggle" (its output is the state the
// device reported); over MQTT it reads the property. Each step prints one
// line; the last is "ok".
import { createRequire } from "node:module";

const require = createRequire(import.meta.url); // node-wot 0.8 is CommonJS
const { Servient } = require("@node-wot/core");
const { HttpClientFactory } = require("@node-wot/binding-http");
const { MqttClientFactory } = require("@node-wot/binding-mqtt");

const [tdURL] = process.argv.slice(2);
if (!tdURL) {
  console.error("usage: node brownfield.mjs TD_URL");
  process.exit(2);
}
const deadline = setTimeout(() => {
  console.error("FAIL: not done within 60s");
  process.exit(1);
}, 60000);

function check(cond, msg) {
  if (!cond) throw new Error(msg);
}

try {
  const servient = new Servient();
  servient.addClientFactory(new HttpClientFactory(null));
  servient.addClientFactory(new MqttClientFactory());
  const WoT = await servient.start();
  const res = await fetch(tdURL, { headers: { Accept: "application/td+json" } });
  check(res.ok, `GET ${tdURL}: ${res.status}`);
  const td = await res.json();
  const thing = await WoT.consume(td);

  const v0 = await (await thing.readProperty("power")).value();
  check(v0 === false, `readproperty power: ${v0}, want false`);
  console.log(`http readproperty power = ${v0}`);

  let saw;
  const observed = new Promise((resolve, reject) => {
    saw = resolve;
    setTimeout(() => reject(new Error("observeproperty: no true within 10 s")), 10000);
  });
  const obs = await thing.observeProperty("power", async (out) => {
    if ((await out.value()) === true) saw(true);
  });
  await thing.writeProperty("power", true);
  console.log("http writeproperty power = true");
  await observed;
  console.log("http observeproperty power saw true");
  await obs.stop();

  const out = await (await thing.invokeAction("toggle")).value();
  check(out === false, `invokeaction toggle: ${JSON.stringify(out)}, want false`);
  console.log(`http invokeaction toggle = ${out}`);

  const forms = td.properties.power.forms;
  const i = forms.findIndex((f) => f.href.startsWith("mqtt") && [].concat(f.op ?? []).includes("readproperty"));
  check(i >= 0, "no MQTT form for readproperty");
  const v1 = await (await thing.readProperty("power", { formIndex: i })).value();
  check(v1 === false, `mqtt readproperty power: ${v1}, want false`);
  console.log(`mqtt readproperty power = ${v1}`);

  clearTimeout(deadline);
  console.log("ok");
  process.exit(0);
} catch (e) {
  console.error(`FAIL: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
}
