// Drives the explorer in headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM) with playwright-core from js/node_modules, as a person would:
// used by explorer/browser_test.go, which starts the hub and a Go agent and
// answers the control URL (register a Thing, report a value, store known
// history). Prints one JSON line per step and exits 1 at the first failure.
//
//   node explorer/testdata/browser.mjs HUB_URL CONTROL_URL
//
// With SHOTS set to a directory, it saves screenshots of the main pages
// there (docs/explorer.md shows them).
import { createRequire } from 'node:module';

const require = createRequire(new URL('../../js/package.json', import.meta.url));
const { chromium } = require('playwright-core');

const [hub, control] = process.argv.slice(2);
const shots = process.env.SHOTS || '';
const timeout = Number(process.env.STEP_TIMEOUT_MS || 30_000);
const lamp = 'urn:dev:test:lamp';
const lampPage = `${hub}/explorer/things/${lamp}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

async function ctl(path) {
  const res = await fetch(control + path, { method: 'POST' });
  const text = await res.text();
  if (!res.ok) throw new Error(`control ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: false });
}

async function signIn(page, user, password) {
  await page.goto(`${hub}/`);
  if (!page.url().includes('/explorer/login')) throw new Error(`/ went to ${page.url()}, not the sign-in page`);
  await page.fill('#user', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(/\/explorer\/things/), page.click('#signin')]);
}

let current = '';
const results = [];
async function step(name, fn) {
  current = name;
  const start = Date.now();
  const out = (await fn()) || {};
  const r = { step: name, ok: true, ms: Date.now() - start, ...out };
  results.push(r);
  console.log(JSON.stringify(r));
}

let failed = false;
try {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'light' });
  ctx.setDefaultTimeout(timeout);
  const page = await ctx.newPage();
  page.on('console', (m) => { if (!m.text().startsWith('Failed to load resource')) console.error(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
  page.on('response', (r) => { if (r.status() >= 400) console.error(`${r.status()} ${r.request().method()} ${r.url()}`); });

  await step('SignInRefusesAWrongPassword', async () => {
    await page.goto(`${hub}/`);
    await page.fill('#user', 'admin');
    await page.fill('#password', 'not-the-password');
    await page.click('#signin');
    const msg = await page.textContent('.refusal');
    if (!/Wrong user name or password/.test(msg)) throw new Error(`refusal: ${msg}`);
  });

  await step('SignIn', async () => {
    await signIn(page, 'admin', process.env.ADMIN_PASSWORD);
    const who = await page.textContent('.who');
    if (!who.includes('admin')) throw new Error(`signed in as ${who}`);
    return { cookieInURL: page.url().includes('token') };
  });

  await step('ThingAppearsLive', async () => {
    await page.evaluate(() => { window.__sameDocument = true; });
    await ctl('/register');
    await page.waitForSelector(`tr[data-thing="${lamp}"]`);
    if (!(await page.evaluate(() => window.__sameDocument === true))) throw new Error('the page reloaded');
    await shot(page, 'things');
  });

  await step('SearchFilters', async () => {
    await page.fill('#q', 'nothing-like-this');
    await Promise.all([page.waitForURL(/q=nothing/), page.click('form.search button')]);
    if (await page.$(`tr[data-thing="${lamp}"]`)) throw new Error('the search did not filter');
    await page.fill('#q', 'Light');
    await Promise.all([page.waitForURL(/q=Light/), page.click('form.search button')]);
    await page.waitForSelector(`tr[data-thing="${lamp}"]`);
  });

  await step('PropertyChangesLive', async () => {
    await page.click(`tr[data-thing="${lamp}"] a`);
    await page.waitForSelector('#thing');
    await page.evaluate(() => { window.__sameDocument = true; });
    await ctl('/set?value=42');
    await page.waitForFunction(() => document.querySelector('output[data-prop="brightness"]').textContent === '42');
    if (!(await page.evaluate(() => window.__sameDocument === true))) throw new Error('the page reloaded');
  });

  await step('EventArrivesLive', async () => {
    await ctl('/event?value=81.5');
    await page.waitForFunction(() => document.querySelector('ol[data-event="overheating"] code')?.textContent === '81.5');
  });

  const timeline = async (form) => page.$$eval(`${form} .timeline li`, (lis) => lis.map((li) => li.dataset.status));

  await step('WritePropertyCompletes', async () => {
    await page.fill('#value-brightness', '70');
    await page.click('form.write[data-prop="brightness"] button[type="submit"]');
    await page.waitForSelector('form.write[data-prop="brightness"] .timeline li[data-status="completed"]');
    await page.waitForFunction(() => document.querySelector('output[data-prop="brightness"]').textContent === '70');
    return { timeline: await timeline('form.write[data-prop="brightness"]') };
  });

  await step('InvokeActionCompletes', async () => {
    await page.fill('#action-fade-input-to', '30');
    await page.click('form.invoke[data-action="fade"] button[type="submit"]');
    await page.waitForSelector('form.invoke[data-action="fade"] .timeline li[data-status="completed"]');
    const statuses = await timeline('form.invoke[data-action="fade"]');
    const output = await page.textContent('form.invoke[data-action="fade"] .timeline li:last-child code');
    if (statuses.at(-1) !== 'completed' || output !== '30') throw new Error(`timeline ${statuses}, output ${output}`);
    await shot(page, 'thing');
    return { timeline: statuses };
  });

  await step('RefusalShown', async () => {
    await page.fill('#value-brightness', '500');
    await page.click('form.write[data-prop="brightness"] button[type="submit"]');
    await page.waitForSelector('form.write[data-prop="brightness"] .refusal:not([hidden])');
    const text = await page.textContent('form.write[data-prop="brightness"] .refusal');
    if (!text.startsWith('invalid_payload')) throw new Error(`refusal: ${text}`);
    const statuses = await timeline('form.write[data-prop="brightness"]');
    return { refusal: text, timeline: statuses };
  });

  const known = await ctl('/history');
  await step('HistoryChart', async () => {
    const q = new URLSearchParams({ series: 'property:level', from: known.from, to: known.to });
    await page.goto(`${lampPage}/history?${q}`);
    const svg = await page.waitForSelector('svg#chart');
    const got = { points: await svg.getAttribute('data-points'), min: await svg.getAttribute('data-min'), max: await svg.getAttribute('data-max') };
    if (got.points !== String(known.values.length) || got.min !== known.min || got.max !== known.max) throw new Error(`chart ${JSON.stringify(got)}, want ${JSON.stringify(known)}`);
    if ((await page.$$('svg#chart circle.dot')).length !== known.values.length) throw new Error('dots missing');
    await shot(page, 'history');
    return got;
  });

  await step('TimeTravel', async () => {
    const values = [];
    for (const [i, t] of known.times.entries()) {
      await page.goto(`${lampPage}/at?${new URLSearchParams({ t })}`);
      values.push(await page.textContent('tr[data-prop="level"] .then code'));
      if (values[i] !== known.values[i]) throw new Error(`level at ${t}: ${values[i]}, want ${known.values[i]}`);
    }
    await page.goto(`${lampPage}/at?${new URLSearchParams({ t: known.before })}`);
    const before = await page.textContent('tr[data-prop="level"] .then code');
    if (before !== '—') throw new Error(`level before the first value: ${before}`);
    await page.goto(`${lampPage}/at?${new URLSearchParams({ t: known.times[1] })}`);
    await shot(page, 'timetravel');
    return { values };
  });

  await step('AgentsAndQueues', async () => {
    await ctl('/offline');
    await page.goto(lampPage);
    await page.fill('#action-fade-input-to', '5');
    await page.click('form.invoke[data-action="fade"] button[type="submit"]');
    await page.waitForSelector('form.invoke[data-action="fade"] .timeline li[data-status="pending"]');
    await page.goto(`${hub}/explorer/agents`);
    await page.waitForSelector('article[data-agent="lamp-agent"] tr[data-request] .status.pending');
    await shot(page, 'agents');
    await page.click('article[data-agent="lamp-agent"] button.cancel');
    await page.waitForFunction(() => !document.querySelector('article[data-agent="lamp-agent"] tr[data-request]'));
  });

  await step('Accounts', async () => {
    await page.goto(`${hub}/explorer/accounts`);
    await page.waitForSelector('tr[data-account="vera"]');
    await page.click('tr[data-account="vera"] form.inline:has(input[value="token"]) button');
    const token = await page.textContent('#new-token');
    if (!token || token.length < 20) throw new Error(`token ${token}`);
    await page.evaluate(() => { document.querySelector('#new-token').textContent = 'eyJhbGciOiJIUzI1NiIs… (left out of this picture)'; });
    await shot(page, 'accounts');
  });

  await step('DarkMode', async () => {
    const dark = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme: 'dark', storageState: await ctx.storageState() });
    const p = await dark.newPage();
    await p.goto(lampPage);
    await p.waitForSelector('#thing');
    const bg = await p.evaluate(() => getComputedStyle(document.body).backgroundColor);
    if (bg === 'rgb(247, 248, 250)') throw new Error('dark mode not applied');
    await shot(p, 'thing-dark');
    await dark.close();
    return { background: bg };
  });

  await step('ViewerSeesNoControls', async () => {
    const vctx = await browser.newContext({ viewport: { width: 1280, height: 860 } });
    vctx.setDefaultTimeout(timeout);
    const v = await vctx.newPage();
    await signIn(v, 'vera', process.env.VIEWER_PASSWORD);
    await v.goto(lampPage);
    await v.waitForSelector('#thing');
    const controls = await v.$$('form.write, form.invoke, form.write button, form.invoke button');
    const value = await v.textContent('output[data-prop="brightness"]');
    const accounts = await v.$('a[href="/explorer/accounts"]');
    if (controls.length !== 0 || accounts) throw new Error(`a viewer sees ${controls.length} controls, accounts link ${!!accounts}`);
    // the hub refuses the viewer's write anyway, through the explorer's API
    const status = await v.evaluate(async (lampID) => {
      const csrf = document.querySelector('meta[name="csrf-token"]').content;
      const r = await fetch(`/explorer/api/things/${lampID}/properties/brightness?timeout=0`, { method: 'PUT', body: '1', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf } });
      return `${r.status} ${(await r.json()).code}`;
    }, lamp);
    if (status !== '403 denied') throw new Error(`the viewer's write: ${status}`);
    await vctx.close();
    return { value, write: status };
  });

  await step('SignOut', async () => {
    await Promise.all([page.waitForURL(/\/explorer\/login/), page.click('header form button')]);
    await page.goto(`${hub}/explorer/things`);
    if (!page.url().includes('/explorer/login')) throw new Error('still signed in');
  });
} catch (err) {
  failed = true;
  console.log(JSON.stringify({ step: current, ok: false, error: err.message }));
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
