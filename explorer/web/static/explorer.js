// The wotmq explorer's script: live updates over the hub's own event
// streams (EventSource, with the session cookie the binding accepts on
// streams), and writes, invocations and cancels sent to /explorer/api/,
// which passes them to the HTTP binding as the signed-in account. No
// framework, no build step. Pages read fine without it.
'use strict';

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || '';
const api = '/explorer/api';
const finalStatuses = new Set(['completed', 'failed', 'cancelled']);

// --- dark and light -------------------------------------------------------
(function theme() {
  const saved = localStorage.getItem('wotmq-theme');
  if (saved) document.documentElement.dataset.theme = saved;
  document.getElementById('theme')?.addEventListener('click', () => {
    const dark = document.documentElement.dataset.theme
      ? document.documentElement.dataset.theme === 'dark'
      : matchMedia('(prefers-color-scheme: dark)').matches;
    const next = dark ? 'light' : 'dark';
    document.documentElement.dataset.theme = next;
    localStorage.setItem('wotmq-theme', next);
  });
})();

function stamp(d = new Date()) {
  return d.toISOString().slice(11, 23);
}

// --- event streams, and the end of a session ------------------------------
// Every stream the page opens goes through live(). An EventSource retries
// by itself after a network error, but gives up (readyState CLOSED) when
// the hub refuses it: then the page asks whether it is still signed in,
// and if not (the session expired, or the password changed) it says so,
// closes every stream and stops polling, instead of showing stale values.
const streams = new Set();
const onSignOut = new Set(); // what else stops when the session ends
let signedOut = false;

function countStreams() {
  document.body.dataset.streams = String(streams.size);
}

// live opens an event stream; refused(signedOut) is called once if the hub
// refuses it.
function live(url, { refused } = {}) {
  const es = new EventSource(url);
  streams.add(es);
  countStreams();
  es.addEventListener('error', async () => {
    if (es.readyState !== EventSource.CLOSED) return; // retrying
    stopStream(es);
    const out = await sessionEnded(); // (refused?.(await ...) would skip the call's argument)
    refused?.(out);
  });
  return es;
}

function stopStream(es) {
  es.close();
  streams.delete(es);
  countStreams();
}

let probing = null;
// sessionEnded reports whether the browser is no longer signed in, and
// shows the banner if so.
function sessionEnded() {
  if (signedOut) return Promise.resolve(true);
  probing ??= fetch(`${api}/session`, { headers: { Accept: 'application/json' } })
    .then((res) => { if (res.status === 401) showSignedOut(); return signedOut; })
    .catch(() => false)
    .finally(() => { probing = null; });
  return probing;
}

function showSignedOut() {
  if (signedOut) return;
  signedOut = true;
  for (const es of [...streams]) stopStream(es);
  for (const fn of onSignOut) fn();
  onSignOut.clear();
  const banner = document.getElementById('signed-out');
  if (!banner) return;
  banner.querySelector('a').href = `/explorer/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  banner.hidden = false;
}

// At the sign-in's end (the page knows when) the page asks the hub, and
// again each minute while the hub still says yes (clocks differ): open
// streams are not cut when a token expires, so this is how it learns.
// A tab coming back to the front asks as well: a browser may hold a
// background tab's stream reconnects back.
(function sessionTimer() {
  const ends = Date.parse(document.querySelector('meta[name="session-expires"]')?.content || '');
  if (isNaN(ends)) return;
  document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'visible') sessionEnded(); });
  const check = async () => { if (!(await sessionEnded())) setTimeout(check, 60_000); };
  setTimeout(check, Math.min(Math.max(ends - Date.now() + 1000, 0), 2 ** 31 - 1));
})();

// loggedOutAnswer reports whether a page request was answered as signed
// out: 401 from the API, or a redirect to the sign-in page.
function loggedOutAnswer(res) {
  if (res.status === 401 || (res.redirected && new URL(res.url).pathname === '/explorer/login')) {
    showSignedOut();
    return true;
  }
  return false;
}

// --- the Things list: rows refresh on directory events ---------------------
(function thingsList() {
  const table = document.getElementById('things');
  if (!table) return;
  let timer = null;
  const refresh = () => {
    clearTimeout(timer);
    timer = setTimeout(async () => {
      const u = new URL(location.href);
      u.searchParams.set('fragment', 'rows');
      const res = await fetch(u, { headers: { Accept: 'text/html' } });
      if (loggedOutAnswer(res) || !res.ok) return;
      document.getElementById('rows').innerHTML = await res.text();
      const total = res.headers.get('X-Things-Total');
      if (total !== null) document.getElementById('count').textContent = total;
    }, 150);
  };
  const es = live(table.dataset.live);
  for (const kind of ['thing_created', 'thing_updated', 'thing_deleted']) es.addEventListener(kind, refresh);
  es.onopen = refresh; // after a reconnect, catch up
  // A presence change updates the row's badge and last activity in place.
  es.addEventListener('thing_presence', (e) => {
    let p;
    try { p = JSON.parse(e.data); } catch { return; }
    const row = [...document.querySelectorAll('#rows tr[data-thing]')].find((tr) => tr.dataset.thing === p.id);
    if (!row || typeof p.state !== 'string') return;
    const badge = row.querySelector('.presence');
    badge.textContent = p.state;
    badge.className = `presence ${p.state}`;
    const since = p.since ? new Date(p.since) : null;
    if (since && !isNaN(since)) row.querySelector('.activity').textContent = `${since.toISOString().slice(0, 19).replace('T', ' ')}Z`;
  });
})();

// --- a Thing: live values and events ---------------------------------------
(function thing() {
  const root = document.getElementById('thing');
  if (!root) return;
  const base = root.dataset.base;
  const outputs = root.querySelectorAll('output[data-prop]');
  if (outputs.length) {
    const es = live(base + '/properties');
    for (const out of outputs) {
      es.addEventListener(out.dataset.prop, (e) => {
        out.textContent = e.data;
        out.classList.remove('changed');
        void out.offsetWidth; // restart the highlight
        out.classList.add('changed');
      });
    }
  }
  const logs = root.querySelectorAll('ol[data-event]');
  if (logs.length) {
    const es = live(base + '/events');
    const badge = document.getElementById('presence');
    es.addEventListener('presence', (e) => {
      try {
        const p = JSON.parse(e.data);
        badge.textContent = p.state;
        badge.className = `presence ${p.state}`;
      } catch { /* not a presence record */ }
    });
    for (const log of logs) {
      es.addEventListener(log.dataset.event, (e) => {
        log.querySelector('.waiting')?.remove();
        const li = document.createElement('li');
        const t = document.createElement('time');
        t.textContent = stamp();
        const code = document.createElement('code');
        code.textContent = e.data;
        li.append(t, ' ', code);
        log.prepend(li);
        while (log.children.length > 50) log.lastChild.remove();
      });
    }
  }
  for (const form of root.querySelectorAll('form.write')) {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      send(form, 'PUT', `${base}/properties/${encodeURIComponent(form.dataset.prop)}`);
    });
  }
  for (const form of root.querySelectorAll('form.invoke')) {
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      send(form, 'POST', `${base}/actions/${encodeURIComponent(form.dataset.action)}`);
    });
  }
})();

// valueOf reads the JSON value a form control holds (see widgets.html).
function valueOf(el) {
  switch (el.dataset.kind) {
    case 'bool': return el.checked;
    case 'number': return el.value === '' ? undefined : Number(el.value);
    case 'enum': return JSON.parse(el.value);
    case 'string': return el.value;
    case 'json': {
      if (el.value.trim() === '') return undefined;
      try { return JSON.parse(el.value); } catch (err) { throw new Error(`${el.dataset.key}: not JSON (${err.message})`); }
    }
    case 'object': {
      const out = {};
      for (const sub of el.querySelectorAll(':scope [data-key]')) {
        if (sub === el) continue;
        const v = valueOf(sub);
        if (v !== undefined && !(sub.dataset.kind === 'string' && v === '')) out[sub.dataset.key] = v;
      }
      return out;
    }
  }
  return undefined;
}

function refuse(form, text) {
  const p = form.querySelector('.refusal');
  p.textContent = text;
  p.hidden = false;
}

function addStatus(list, rec, note) {
  // A record the list shows already (the answer, then the stream's first
  // event; a reconnected stream's first) is not shown twice; each running
  // report with its progress is.
  const key = `${rec.status} ${rec.updated || ''} ${JSON.stringify(rec.output ?? null)}`;
  const last = list.lastElementChild;
  if (last && last.dataset.key === key && !note) return;
  const li = document.createElement('li');
  li.dataset.status = rec.status;
  li.dataset.key = key;
  const badge = document.createElement('span');
  badge.className = `status ${rec.status}`;
  badge.textContent = rec.status;
  const t = document.createElement('time');
  t.textContent = stamp(rec.updated ? new Date(rec.updated) : new Date());
  li.append(badge, ' ', t);
  const detail = note ?? (rec.error ? `${rec.error.code}: ${rec.error.message}` : rec.output !== undefined ? JSON.stringify(rec.output) : '');
  if (detail) {
    const c = document.createElement('code');
    c.textContent = detail;
    li.append(' ', c);
  }
  list.append(li);
}

// send submits a write or an invocation and follows its status until it
// ends: the binding answers at once (?timeout=0) with the status record
// and its URL, whose event stream then gives every later status as the
// hub records it (follow).
async function send(form, method, path) {
  const list = form.querySelector('.timeline');
  const button = form.querySelector('button[type="submit"]');
  form.querySelector('.refusal').hidden = true;
  list.replaceChildren();
  delete list.dataset.live;
  let body;
  try {
    const field = form.querySelector('[data-kind]');
    const v = field ? valueOf(field) : undefined;
    body = v === undefined ? undefined : JSON.stringify(v);
  } catch (err) {
    refuse(form, err.message);
    return;
  }
  button.disabled = true;
  try {
    const res = await fetch(`${api}${path}?timeout=0`, {
      method, body,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, Accept: 'application/json' },
    });
    if (res.status === 401) { showSignedOut(); refuse(form, 'signed out: sign in again'); return; }
    if (res.status === 204) { addStatus(list, { status: 'completed' }); return; }
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) {
      refuse(form, data?.code ? `${data.code}: ${data.detail}` : `${res.status} ${res.statusText}`);
      addStatus(list, { status: 'refused' }, data?.code || String(res.status));
      return;
    }
    if (!data?.status) { addStatus(list, { status: 'completed', output: data ?? undefined }); return; }
    addStatus(list, data);
    const where = res.headers.get('Location');
    const rec = finalStatuses.has(data.status) || !where ? data : await follow(list, where, data);
    if (rec.status === 'failed' && rec.error) refuse(form, `${rec.error.code}: ${rec.error.message}`);
  } catch (err) {
    refuse(form, `the hub could not be reached: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

// follow shows each status of a request from its status stream (the
// binding's own URL: the session cookie works on event streams) and
// resolves with the last. Polling the status is the fallback where the
// stream is refused while still signed in.
function follow(list, where, first) {
  const streamURL = where.startsWith(api + '/') ? where.slice(api.length) : where;
  return new Promise((resolve) => {
    let rec = first;
    let done = false;
    const stop = () => { if (!done) { done = true; resolve(rec); } };
    onSignOut.add(stop);
    list.dataset.live = 'opening';
    const es = live(streamURL, {
      refused: (out) => {
        if (done) return;
        done = true;
        onSignOut.delete(stop);
        if (out) { resolve(rec); return; } // signed out: the page stops here
        list.dataset.live = 'polling';
        poll(list, where, rec).then(resolve);
      },
    });
    es.onopen = () => { list.dataset.live = 'open'; };
    es.onmessage = (e) => {
      try { rec = JSON.parse(e.data); } catch { return; }
      addStatus(list, rec);
      if (finalStatuses.has(rec.status) && !done) {
        done = true;
        stopStream(es);
        onSignOut.delete(stop);
        list.dataset.live = 'ended';
        resolve(rec);
      }
    };
  });
}

// poll follows a request's status by asking for it every 200 ms (at most
// five minutes); fast steps in between are not seen.
async function poll(list, where, rec) {
  const until = Date.now() + 5 * 60_000;
  while (!finalStatuses.has(rec.status) && !signedOut && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 200));
    const r = await fetch(where, { headers: { Accept: 'application/json' } });
    if (loggedOutAnswer(r) || !r.ok) break;
    rec = await r.json();
    addStatus(list, rec);
  }
  return rec;
}

// --- agents: cancel one's own waiting requests; the page follows the queues --
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-cancel]');
  if (!b) return;
  const res = await fetch(api + b.dataset.cancel, { method: 'DELETE', headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' } });
  if (res.ok) { await refreshAgents(); return; }
  if (loggedOutAnswer(res)) return;
  const p = b.nextElementSibling;
  const data = await res.json().catch(() => null);
  p.textContent = data?.code ? `${data.code}: ${data.detail}` : `${res.status}`;
  p.hidden = false;
});

async function refreshAgents() {
  if (signedOut) return;
  const res = await fetch(location.href, { headers: { Accept: 'text/html' } });
  if (loggedOutAnswer(res) || !res.ok) return;
  const doc = new DOMParser().parseFromString(await res.text(), 'text/html');
  const fresh = doc.getElementById('agents');
  if (fresh) document.getElementById('agents').replaceWith(fresh);
}

if (document.getElementById('agents')) {
  setInterval(() => { if (document.visibilityState === 'visible') refreshAgents(); }, 3000);
}

// --- history: choosing a value or a range shows it -------------------------
(function history() {
  const form = document.getElementById('range');
  if (!form) return;
  form.querySelector('[data-autosubmit]')?.addEventListener('change', () => form.requestSubmit());
  for (const r of form.querySelectorAll('input[name="range"]')) r.addEventListener('change', () => form.requestSubmit());
  for (const id of ['from', 'to']) {
    form.querySelector('#' + id)?.addEventListener('input', () => {
      for (const r of form.querySelectorAll('input[name="range"]')) r.checked = false;
    });
  }
})();
