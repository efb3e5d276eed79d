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
      if (!res.ok) return;
      document.getElementById('rows').innerHTML = await res.text();
      const total = res.headers.get('X-Things-Total');
      if (total !== null) document.getElementById('count').textContent = total;
    }, 150);
  };
  const es = new EventSource(table.dataset.live);
  for (const kind of ['thing_created', 'thing_updated', 'thing_deleted']) es.addEventListener(kind, refresh);
  es.onopen = refresh; // after a reconnect, catch up
})();

// --- a Thing: live values and events ---------------------------------------
(function thing() {
  const root = document.getElementById('thing');
  if (!root) return;
  const base = root.dataset.base;
  const outputs = root.querySelectorAll('output[data-prop]');
  if (outputs.length) {
    const es = new EventSource(base + '/properties');
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
    const es = new EventSource(base + '/events');
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
  const last = list.lastElementChild;
  if (last && last.dataset.status === rec.status && !note) return;
  const li = document.createElement('li');
  li.dataset.status = rec.status;
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
// and its URL, which the page polls.
async function send(form, method, path) {
  const list = form.querySelector('.timeline');
  const button = form.querySelector('button[type="submit"]');
  form.querySelector('.refusal').hidden = true;
  list.replaceChildren();
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
    let rec = data;
    const where = res.headers.get('Location');
    const until = Date.now() + 5 * 60_000;
    while (!finalStatuses.has(rec.status) && where && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 200));
      const r = await fetch(where, { headers: { Accept: 'application/json' } });
      if (!r.ok) break;
      rec = await r.json();
      addStatus(list, rec);
    }
    if (rec.status === 'failed' && rec.error) refuse(form, `${rec.error.code}: ${rec.error.message}`);
  } catch (err) {
    refuse(form, `the hub could not be reached: ${err.message}`);
  } finally {
    button.disabled = false;
  }
}

// --- agents: cancel one's own waiting requests; the page follows the queues --
document.addEventListener('click', async (e) => {
  const b = e.target.closest('button[data-cancel]');
  if (!b) return;
  const res = await fetch(api + b.dataset.cancel, { method: 'DELETE', headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' } });
  if (res.ok) { await refreshAgents(); return; }
  const p = b.nextElementSibling;
  const data = await res.json().catch(() => null);
  p.textContent = data?.code ? `${data.code}: ${data.detail}` : `${res.status}`;
  p.hidden = false;
});

async function refreshAgents() {
  const res = await fetch(location.href, { headers: { Accept: 'text/html' } });
  if (!res.ok) return;
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
