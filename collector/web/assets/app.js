/*
 * minisoc dashboard. Alerts carry attacker-controlled text (log lines,
 * user names, host names): everything from the server goes into the page
 * through textContent / attributes only, never as HTML.
 *
 * Alert fields are read tolerantly: today's names (time, severity,
 * rule.title, agent.host, src_ip) and the ECS-style ones (@timestamp,
 * rule.level / event.severity, rule.name, host.name, source.ip, system.id,
 * system.level).
 */
'use strict';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'informational', 'other'];
const SEV_BY_NUM = ['informational', 'low', 'medium', 'high', 'critical'];
const MAX_ROWS = 2000;
const SVGNS = 'http://www.w3.org/2000/svg';

const state = {
  alerts: new Map(),   // stream id -> { id, a, fields, tr }
  hidden: new Set(),   // severities unchecked
  search: '',
  chart: null,
};

/* --- small helpers ---------------------------------------------------- */

function el(tag, attrs, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === 'class') e.className = v;
    else e.setAttribute(k, v);
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    e.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return e;
}

function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
}

/* A value at a dotted path: "a.b" as a key of its own, or nested. */
function get(o, path) {
  if (o === null || typeof o !== 'object') return undefined;
  if (Object.prototype.hasOwnProperty.call(o, path)) return o[path];
  let cur = o;
  for (const k of path.split('.')) {
    if (cur !== null && typeof cur === 'object' && Object.prototype.hasOwnProperty.call(cur, k)) cur = cur[k];
    else return undefined;
  }
  return cur;
}

function pick(o, ...paths) {
  for (const p of paths) {
    const v = get(o, p);
    if (v !== undefined && v !== null && v !== '' && typeof v !== 'object') return String(v);
  }
  return '';
}

function severityOf(a) {
  let s = pick(a, 'rule.level', 'severity', 'event.severity_name');
  if (!s) {
    const n = get(a, 'event.severity');
    if (typeof n === 'number' && n >= 1 && n <= 5) s = SEV_BY_NUM[n - 1];
    else if (typeof n === 'string') s = n;
  }
  s = s.toLowerCase();
  return SEVERITIES.includes(s) ? s : 'other';
}

function timeOf(a, id) {
  const t = pick(a, '@timestamp', 'time');
  if (t) return t;
  const ms = parseInt(String(id).split('-')[0], 10);
  return Number.isFinite(ms) ? new Date(ms).toISOString() : '';
}

/*
 * The browser's local time, with its zone named ("UTC+7"): alerts are
 * stored in UTC and minisocctl and the report print UTC, so a bare local
 * time could not be set beside them (23:49 here is 16:49Z there).
 */
function fmtZone(d) {
  const off = -d.getTimezoneOffset();
  if (off === 0) return 'UTC';
  const a = Math.abs(off);
  const m = a % 60;
  return `UTC${off < 0 ? '-' : '+'}${Math.floor(a / 60)}${m ? `:${String(m).padStart(2, '0')}` : ''}`;
}

function fmtTime(iso) {
  const d = new Date(iso);
  if (isNaN(d)) return iso;
  const p = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${fmtZone(d)}`;
}

function fmtAge(ms) {
  if (!(ms >= 0)) return '–';
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  if (s < 172800) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function fmtBytes(n) {
  if (!(n >= 0)) return '–';
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

async function api(path) {
  const r = await fetch(path, { credentials: 'same-origin', cache: 'no-store' });
  if (r.status === 401) {
    window.location.assign('/login');
    throw new Error('not signed in');
  }
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

/* --- alerts ------------------------------------------------------------ */

function parseEntry(e) {
  let a = {};
  try {
    a = JSON.parse(e.alert || '{}');
    if (a === null || typeof a !== 'object') a = {};
  } catch (err) {
    a = { unparsable: String(e.alert || '') };
  }
  return { id: String(e.id || ''), a, fields: e.fields || {} };
}

function visible(x) {
  if (state.hidden.has(x.sev)) return false;
  if (state.search && !x.text.includes(state.search)) return false;
  return true;
}

function rowFor(x) {
  const a = x.a;
  const rule = pick(a, 'rule.title', 'rule.name', 'rule.id', 'rule') || pick(x.fields, 'rule');
  const host = pick(a, 'host.name', 'agent.host', 'host');
  const agent = pick(a, 'agent.id', 'agent') || pick(x.fields, 'agent');
  const src = pick(a, 'source.ip', 'src_ip') || pick(x.fields, 'src_ip');
  const sys = pick(a, 'system.id', 'system.name', 'system');
  const lvl = pick(a, 'system.level');
  const tr = el('tr', { 'data-id': x.id, 'data-severity': x.sev, class: `sev-row-${x.sev}` },
    el('td', {}, fmtTime(timeOf(a, x.id))),
    el('td', {}, el('span', { class: `sev ${x.sev}` }, x.sev)),
    el('td', { class: 'rule' }, rule),
    el('td', {}, host),
    el('td', {}, agent),
    el('td', {}, src),
    el('td', {}, lvl ? `${sys} (level ${lvl})` : sys));
  x.text = [rule, host, agent, src, sys, pick(a, 'rule.id', 'rule.name')].join(' ').toLowerCase();
  tr.addEventListener('click', () => showDetail(x.id));
  return tr;
}

/* Stream ids are "<ms>-<seq>": compare as numbers, newest first. */
function newer(a, b) {
  const [am, as] = a.split('-').map(Number);
  const [bm, bs] = b.split('-').map(Number);
  return am !== bm ? am > bm : as > bs;
}

function addEntry(e, fresh) {
  const x = parseEntry(e);
  if (!x.id || state.alerts.has(x.id)) return null;
  x.sev = severityOf(x.a);
  x.tr = rowFor(x);
  x.tr.hidden = !visible(x);
  if (fresh) x.tr.classList.add('fresh');
  const tbody = document.querySelector('#alerts tbody');
  // Keep the table sorted newest first; live entries almost always go on top.
  let before = tbody.firstChild;
  while (before && newer(before.getAttribute('data-id'), x.id)) before = before.nextSibling;
  tbody.insertBefore(x.tr, before);
  state.alerts.set(x.id, x);
  while (state.alerts.size > MAX_ROWS) {
    const last = tbody.lastChild;
    state.alerts.delete(last.getAttribute('data-id'));
    tbody.removeChild(last);
  }
  return x;
}

function applyFilters() {
  let shown = 0;
  for (const x of state.alerts.values()) {
    x.tr.hidden = !visible(x);
    if (!x.tr.hidden) shown++;
  }
  document.getElementById('alerts-count').textContent =
    `${shown} shown of ${state.alerts.size} loaded`;
}

async function loadHistory() {
  const r = await api('/api/alerts');
  for (const e of r.alerts || []) addEntry(e, false);
  applyFilters();
}

/* Every leaf of an object as "a.b.c" -> value (arrays as a.0, a.1 …). */
function flatten(o, prefix, out) {
  for (const [k, v] of Object.entries(o)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object') flatten(v, key, out);
    else out.push([key, v === null ? 'null' : String(v)]);
  }
  return out;
}

async function showDetail(id) {
  const box = document.getElementById('detail');
  const body = document.getElementById('detail-body');
  clear(body);
  box.hidden = false;
  body.appendChild(el('p', { class: 'note' }, `loading ${id} …`));
  let x;
  try {
    x = parseEntry(await api(`/api/alert?id=${encodeURIComponent(id)}`));
  } catch (err) {
    clear(body);
    body.appendChild(el('p', {}, String(err.message)));
    return;
  }
  clear(body);
  const dl = el('dl', {});
  dl.appendChild(el('dt', {}, 'stream id'));
  dl.appendChild(el('dd', {}, x.id));
  for (const [k, v] of flatten(x.a, '', [])) {
    if (k.startsWith('samples.')) continue;
    dl.appendChild(el('dt', {}, k));
    dl.appendChild(el('dd', {}, v));
  }
  body.appendChild(dl);
  const samples = get(x.a, 'samples') || get(x.a, 'event.original') || [];
  const lines = Array.isArray(samples) ? samples : [samples];
  body.appendChild(el('h3', {}, `Raw events (${lines.length})`));
  for (const s of lines) body.appendChild(el('pre', { class: 'raw-event' }, String(s)));
  body.appendChild(el('h3', {}, 'JSON'));
  body.appendChild(el('pre', {}, JSON.stringify(x.a, null, 2)));
  box.scrollIntoView({ block: 'nearest' });
}

/* --- live stream ------------------------------------------------------- */

function setConn(cls, text) {
  const c = document.getElementById('conn');
  c.className = `conn ${cls}`;
  c.textContent = text;
}

function startStream() {
  const es = new EventSource('/api/stream');
  let loaded = false;
  es.addEventListener('open', () => {
    setConn('conn-live', 'live');
    // Registered for live entries first, then the history: nothing falls in between.
    if (!loaded) {
      loaded = true;
      loadHistory().catch((err) => setConn('conn-down', String(err.message)));
    }
  });
  es.addEventListener('error', () => setConn('conn-down', 'reconnecting…'));
  // Back after missing more than the server catches up on: only the newest came.
  es.addEventListener('gap', (ev) => {
    let n = '';
    try {
      n = String(JSON.parse(ev.data).max || '');
    } catch (err) {
      n = '';
    }
    const note = document.getElementById('stream-note');
    note.textContent = `Alerts were missed while disconnected; only the newest ${n} came after. ` +
      'Older ones: minisocctl alerts, or the alert stream in Redis.';
    note.hidden = false;
  });
  es.addEventListener('alert', (ev) => {
    let e;
    try {
      e = JSON.parse(ev.data);
    } catch (err) {
      return;
    }
    const x = addEntry(e, true);
    if (x) {
      applyFilters();
      chartCount(x);
    }
  });
}

/* --- chart ------------------------------------------------------------- */

function svg(tag, attrs) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  return e;
}

function drawChart() {
  const c = state.chart;
  const box = document.getElementById('chart');
  clear(box);
  if (!c) return;
  const order = c.severities; // informational … other, bottom to top
  const W = 960, H = 180, left = 40, bottom = 20, top = 8;
  const bw = (W - left) / 24;
  let max = 1;
  for (const h of c.hours) max = Math.max(max, h.reduce((s, v) => s + v, 0));
  const s = svg('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', id: 'chart-svg' });
  const scale = (H - bottom - top) / max;
  s.appendChild(svg('line', { x1: left, y1: H - bottom, x2: W, y2: H - bottom, stroke: '#999' }));
  const tmax = svg('text', { x: left - 4, y: top + 10, 'text-anchor': 'end', 'font-size': 11, fill: '#637083' });
  tmax.textContent = String(max);
  s.appendChild(tmax);
  // hours[0] is the last hour: drawn on the right.
  for (let h = 0; h < 24; h++) {
    const x = left + (23 - h) * bw;
    let y = H - bottom;
    const counts = c.hours[h] || [];
    const total = counts.reduce((a, b) => a + b, 0);
    const g = svg('g', { class: 'bar', 'data-hour': h, 'data-total': total });
    const title = svg('title');
    title.textContent = `${h === 0 ? 'last hour' : `${h}–${h + 1} h ago`}: ${total} alerts` +
      order.map((n, i) => (counts[i] ? `, ${n} ${counts[i]}` : '')).join('');
    g.appendChild(title);
    order.forEach((name, i) => {
      const v = counts[i] || 0;
      if (!v) return;
      const hgt = v * scale;
      y -= hgt;
      g.appendChild(svg('rect', { x: x + 1, y, width: bw - 2, height: hgt, class: `bar-${name}`,
        fill: getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim() || '#888' }));
    });
    s.appendChild(g);
    if (h % 3 === 0) {
      const t = svg('text', { x: x + bw / 2, y: H - 5, 'text-anchor': 'middle', 'font-size': 11, fill: '#637083' });
      t.textContent = h === 0 ? 'now' : `-${h}h`;
      s.appendChild(t);
    }
  }
  box.appendChild(s);
  const legend = el('div', { class: 'legend' });
  const totals = order.map((_, i) => c.hours.reduce((sum, h) => sum + (h[i] || 0), 0));
  order.slice().reverse().forEach((name) => {
    const i = order.indexOf(name);
    const sw = el('i', {});
    sw.style.background = `var(--${name})`;
    legend.appendChild(el('span', {}, sw, `${name} ${totals[i]}`));
  });
  box.appendChild(legend);
  document.getElementById('chart-note').textContent = c.truncated ?
    'Only the most recent alerts were counted (web.chart_max_scan).' : '';
}

/* Counts x in the chart when it came after the chart was computed. */
function chartAdd(c, x) {
  const ms = parseInt(x.id.split('-')[0], 10);
  const i = c.severities.indexOf(x.sev);
  if (!(ms > c.now_ms) || i < 0 || !c.hours[0]) return false;
  c.hours[0][i]++;
  return true;
}

function chartCount(x) {
  if (state.chart && chartAdd(state.chart, x)) drawChart();
}

async function loadChart() {
  try {
    const c = await api('/api/chart');
    // The server shares one computation for a few seconds: add what came since.
    for (const x of state.alerts.values()) chartAdd(c, x);
    state.chart = c;
    drawChart();
  } catch (err) {
    document.getElementById('chart-note').textContent = String(err.message);
  }
}

/* --- agents ------------------------------------------------------------ */

async function loadAgents() {
  let r;
  try {
    r = await api('/api/agents');
  } catch (err) {
    document.getElementById('agents-count').textContent = String(err.message);
    return;
  }
  const tbody = document.querySelector('#agents tbody');
  clear(tbody);
  const list = (r.agents || []).slice().sort((a, b) => String(a.id).localeCompare(String(b.id)));
  let online = 0;
  for (const a of list) {
    const info = a.info || {}, h = a.health || {};
    const seen = parseInt(a.last_seen_ms, 10);
    const status = info.status === 'silent' ? 'silent' : info.status === 'online' ? 'online' : 'unknown';
    if (status === 'online') online++;
    const clock = h['clock.synced'] === undefined ? '–' :
      (h['clock.synced'] === '1' || h['clock.synced'] === 'yes' || h['clock.synced'] === 'true' ? 'synced' : 'NOT synced');
    const drops = ['count.lines_truncated', 'count.spool_errors']
      .map((k) => parseInt(h[k], 10)).filter(Number.isFinite);
    tbody.appendChild(el('tr', { 'data-agent': String(a.id) },
      el('td', {}, String(a.id)),
      el('td', {}, info.hostname || h.hostname || ''),
      el('td', { class: `status-${status}` }, status),
      el('td', {}, Number.isFinite(seen) ? fmtAge(r.now_ms - seen) : '–'),
      el('td', {}, info.version || h.version || ''),
      el('td', {}, info.system ? `${info.system}${info.level ? ` (level ${info.level})` : ''}` : ''),
      el('td', {}, h['backlog.events'] !== undefined ? `${h['backlog.events']} events` : '–'),
      el('td', {}, h['backlog.spool_bytes'] !== undefined ? fmtBytes(parseInt(h['backlog.spool_bytes'], 10)) : '–'),
      el('td', { title: 'lines cut at 64 KiB + spool write errors (the agent never drops lines otherwise)' },
        drops.length ? String(drops.reduce((s, v) => s + v, 0)) : '–'),
      el('td', {}, clock)));
  }
  /* Over web.agents_max the list is cut (silent agents first): say so, and how many there are. */
  const total = Number.isFinite(r.total) && r.total > list.length ? r.total : list.length;
  document.getElementById('agents-count').textContent = r.truncated ?
    `${online} online of the ${list.length} shown (${total} agents; web.agents_max)` :
    `${online} online of ${total}`;
}

/* --- information systems ------------------------------------------------ */

/* A JSON text from Redis (operator data): an object, or {} when it is not one. */
function parseObj(text) {
  if (!text) return {};
  try {
    const o = JSON.parse(text);
    return o !== null && typeof o === 'object' && !Array.isArray(o) ? o : {};
  } catch (err) {
    return {};
  }
}

const COMPLIANCE = ['pass', 'partial', 'fail', 'n/a'];
const LAYERS = ['onsite', 'monitoring', 'inspection', 'national'];

/* The compliance cell: status and counts, the failed requirements on hover and in a detail. */
function complianceCell(c, source) {
  const status = pick(c, 'status');
  if (!status) {
    return el('td', { class: 'comp comp-none', 'data-compliance': 'none',
      title: 'minisocctl report --publish has not judged this system' },
    source === 'agents' ? 'not assessed' : 'not assessed yet');
  }
  const known = COMPLIANCE.includes(status) ? status : 'other';
  const failed = Array.isArray(c.failed_requirements) ? c.failed_requirements : [];
  const ids = failed.map((f) => pick(f, 'id')).filter((x) => x);
  const tip = [`${status}: ${pick(c, 'passed') || 0} of ${pick(c, 'total') || 0} requirements met` +
    ` (framework ${pick(c, 'framework') || '?'}, judged as of ${pick(c, 'as_of') || '?'})`];
  if (ids.length) tip.push(`failed: ${ids.join(', ')}`);
  const td = el('td', { class: `comp comp-${known.replace('/', '')}`, 'data-compliance': status,
    title: tip.join('\n') },
  el('span', { class: 'comp-status' }, status),
  ` ${pick(c, 'passed') || 0}/${pick(c, 'total') || 0}`);
  if (failed.length) {
    const ul = el('ul', {});
    for (const f of failed) {
      const detail = pick(f, 'detail');
      ul.appendChild(el('li', { 'data-requirement': pick(f, 'id') },
        el('code', {}, pick(f, 'id')), ` ${pick(f, 'title')}`, detail ? ` – ${detail}` : ''));
    }
    td.appendChild(el('details', { class: 'comp-failed' }, el('summary', {}, `${failed.length} failed`), ul));
  }
  return td;
}

/* The four layers: "n/4 active", each layer with its status and expiry on hover. */
function layersCell(rec) {
  const ly = rec.layers !== null && typeof rec.layers === 'object' ? rec.layers : null;
  if (!ly) return el('td', {}, '');
  const today = new Date().toISOString().slice(0, 10);
  let active = 0, expired = 0;
  const tip = LAYERS.map((k) => {
    const l = ly[k] !== null && typeof ly[k] === 'object' ? ly[k] : {};
    const st = pick(l, 'status') || 'missing';
    const until = pick(l, 'valid_until');
    const exp = until && until < today;
    if (st === 'active' && !exp) active++;
    if (exp) expired++;
    return `${k}: ${st}${until ? ` until ${until}${exp ? ' (EXPIRED)' : ''}` : ''}`;
  });
  return el('td', { class: 'layers', title: tip.join('\n') },
    `${active}/4 active${expired ? `, ${expired} expired` : ''}`);
}

async function loadSystems() {
  const box = document.getElementById('systems');
  let r;
  try {
    r = await api('/api/systems');
  } catch (err) {
    clear(box);
    box.appendChild(el('p', { class: 'note' }, String(err.message)));
    return;
  }
  clear(box);
  if (r.source === 'none' || !(r.systems || []).length) {
    box.appendChild(el('p', { id: 'no-register', class: 'note' }, 'no register configured'));
    return;
  }
  const tbody = el('tbody', {});
  const rows = (r.systems || []).map((s) => {
    const rec = parseObj(s.record), comp = parseObj(s.compliance);
    return {
      id: String(s.id),
      rec,
      comp,
      name: pick(rec, 'name', 'title'),
      level: pick(rec, 'level', 'protection_level', 'system.level') || pick(comp, 'level') || String(s.level || ''),
      framework: pick(rec, 'framework') || pick(comp, 'framework'),
      agents: Number(s.agents) || 0,
      online: Number(s.online) || 0,
    };
  }).sort((a, b) => a.id.localeCompare(b.id));
  for (const s of rows) {
    const info = ['type', 'owner', 'operator', 'dossier'].map((k) => [k, pick(s.rec, k)])
      .filter(([, v]) => v).map(([k, v]) => `${k}: ${v}`).join('\n');
    const judged = pick(s.comp, 'as_of');
    tbody.appendChild(el('tr', { 'data-system': s.id },
      el('td', {}, s.id),
      el('td', info ? { title: info } : {}, s.name),
      el('td', { class: 'level', title: s.framework ? `framework ${s.framework}` : '' }, s.level),
      complianceCell(s.comp, r.source),
      el('td', { class: 'judged' }, judged ? fmtTime(judged) : '–'),
      layersCell(s.rec),
      el('td', { class: 'agents', title: `${s.online} online of ${s.agents} agents` },
        `${s.online}/${s.agents} online`)));
  }
  box.appendChild(el('table', { class: 'grid' },
    el('thead', {}, el('tr', {}, el('th', {}, 'system'), el('th', {}, 'name'), el('th', {}, 'level'),
      el('th', {}, 'compliance'), el('th', {}, 'judged'), el('th', {}, 'layers'), el('th', {}, 'agents'))),
    tbody));
  if (r.source === 'agents')
    box.appendChild(el('p', { class: 'note' }, 'From the systems agents are assigned to; the register publishes no records (minisoc:systems).'));
  else if (r.source === 'compliance')
    box.appendChild(el('p', { class: 'note' }, 'From the last compliance report (minisoc:systems:compliance); the collector publishes no register.'));
}

/* --- start ------------------------------------------------------------- */

function start() {
  for (const cb of document.querySelectorAll('#filters input[type=checkbox]')) {
    cb.addEventListener('change', () => {
      if (cb.checked) state.hidden.delete(cb.dataset.sev);
      else state.hidden.add(cb.dataset.sev);
      applyFilters();
    });
  }
  document.getElementById('search').addEventListener('input', (ev) => {
    state.search = ev.target.value.trim().toLowerCase();
    applyFilters();
  });
  document.getElementById('filters').addEventListener('submit', (ev) => ev.preventDefault());
  document.getElementById('detail-close').addEventListener('click', () => {
    document.getElementById('detail').hidden = true;
  });
  startStream();
  loadChart();
  loadAgents();
  loadSystems();
  setInterval(loadAgents, 10000);
  setInterval(loadChart, 60000);
  setInterval(loadSystems, 60000);
}

document.addEventListener('DOMContentLoaded', start);
