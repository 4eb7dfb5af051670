// @ts-check
// Session playback (console page 'timeline'): who, from where, how and why the session was let in; each statement
// with its classification, tables, duration, rows and outcome; anomalies and blocks inline; the totals; a page at a
// time from the server, and a player that steps through the statements with their timing.
import { $, $el, api, link, localTime, message, pager, runPage } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas-audit.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @typedef {Answer<Schemas['timelinePage']>} Page */
/** @typedef {Page['items'][number]} Item */

const PAGE = 100;
/** The longest pause the player makes between two statements, whatever the recorded gap. */
const MAX_WAIT_MS = 5_000;

const KIND_NAMES = /** @type {Record<string, string>} */ ({
  session_start: 'Start',
  policy: 'Access granted',
  access_used: 'Access request used',
  anomaly: 'Anomaly',
  session_end: 'End',
});

/** @param {number} ms */
const duration = (ms) =>
  ms < 1000 ? `${Math.round(ms)} ms` : ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60_000)} min`;
/** @param {number} n */
const count = (n) => n.toLocaleString();

/** @param {string} text @param {string} [cls] */
function tag(text, cls) {
  const s = document.createElement('span');
  s.className = cls ? `tag ${cls}` : 'tag';
  s.textContent = text;
  return s;
}

/** @param {HTMLElement} dl @param {Array<[string, string | Node]>} rows */
function fillList(dl, rows) {
  dl.replaceChildren();
  for (const [k, v] of rows) {
    dl.appendChild(document.createElement('dt')).textContent = k;
    const dd = dl.appendChild(document.createElement('dd'));
    if (typeof v === 'string') dd.textContent = v;
    else dd.appendChild(v);
  }
}

/** @param {Page['session']} s @param {HTMLElement} holder */
async function showStart(s, holder) {
  const section = document.createElement('section');
  section.className = 'start';
  section.setAttribute('aria-labelledby', 'start-h');
  const h = section.appendChild(document.createElement('h2'));
  h.id = 'start-h';
  h.textContent = 'Start';
  const dl = section.appendChild(document.createElement('dl'));
  const started = document.createElement('span');
  started.append(
    localTime(s.startedAt),
    s.endedAt ? ' to ' : ' (still running)',
    s.endedAt ? localTime(s.endedAt) : '',
  );
  /** @type {Array<[string, string | Node]>} */
  const rows = [
    ['Who', `${s.username ?? '(unknown)'}${s.groups.length ? ` (groups: ${s.groups.join(', ')})` : ''}`],
    [
      'From',
      `${s.clientAddr}${s.clientPort ? `:${s.clientPort}` : ''}${s.applicationName ? `, application ${s.applicationName}` : ''}`,
    ],
    [
      'Authenticated',
      `${s.authMethod ?? 'unknown'}${s.channelBinding ? ' with channel binding' : ''}, ${s.tlsVersion ? `over ${s.tlsVersion}` : 'without TLS'}`,
    ],
    [
      'Connected to',
      `${s.target ?? '?'} / ${s.database ?? '?'} as role ${s.upstreamRole ?? '?'}${s.readOnly ? ', read-only' : ''}`,
    ],
    ['Granted by', `rule ${s.policyRule ?? '?'} (policy version ${s.policyVersion ?? '?'})`],
    ['When', started],
  ];
  if (s.accessRequest) rows.push(['Access request', await requestSummary(s.accessRequest)]);
  rows.push(['Gateway', s.gatewayId]);
  fillList(dl, rows);
  holder.replaceChildren(section);
}

/**
 * The access request that admitted the session: its reason, approvers and decisions, with a
 * link to its record; if it cannot be read (gone, or an API without it), its id alone.
 * @param {string} id
 */
async function requestSummary(id) {
  const out = document.createElement('span');
  try {
    const d = /** @type {Answer<typeof import('../../src/web/api-schemas-access.js')['requestDetail']>} */ (
      await api('GET', `/api/access-requests/${encodeURIComponent(id)}`)
    );
    const r = d.request;
    const approvers = d.approvers.map(
      (a) => `${a.user}${a.breakGlass ? ' (break-glass)' : ''}${a.reason ? `: “${a.reason}”` : ''}`,
    );
    out.append(
      `${r.state}, asked by ${r.requester}${r.reason ? ` because “${r.reason}”` : ''}; approved by ${approvers.join('; ') || 'nobody'}. `,
      link(`/api/access-requests/${encodeURIComponent(id)}`, `Request ${id.slice(0, 8)}…: full record`),
    );
  } catch (err) {
    out.append(`${id} (${message(err)})`);
  }
  return out;
}

/** @param {Item} it @param {number} startMs */
function itemRow(it, startMs) {
  const li = document.createElement('li');
  li.id = `item-${it.index}`;
  li.dataset['index'] = String(it.index);
  li.tabIndex = -1;
  const when = li.appendChild(document.createElement('div'));
  when.className = 'when';
  when.append(localTime(it.at), document.createElement('br'), `+${duration(Date.parse(it.at) - startMs)}`);
  const body = li.appendChild(document.createElement('div'));
  if (it.type === 'statement') {
    li.className =
      it.outcome === 'blocked' ? 'statement blocked' : it.outcome === 'error' ? 'statement error' : 'statement';
    const code = body.appendChild(document.createElement('code'));
    code.textContent = it.sql.join('; ');
    const tags = body.appendChild(document.createElement('div'));
    tags.className = 'tags';
    for (const c of it.categories) tags.appendChild(tag(c));
    for (const t of it.tables) tags.appendChild(tag(`table ${t}`));
    for (const r of it.risks) tags.appendChild(tag(`risk ${r}`, 'bad'));
    tags.append(
      tag(`${duration(it.ms)}`),
      tag(`${count(it.rows)} row${it.rows === 1 ? '' : 's'}`),
      tag(it.outcome, it.outcome === 'ok' ? '' : 'bad'),
    );
    // What masking hid in this statement's result: counts per column or recogniser, never values.
    for (const [what, n] of Object.entries(it.masked ?? {})) tags.appendChild(tag(`masked ${what} ×${count(n)}`));
    if (it.params?.some((list) => list.length)) {
      const p = body.appendChild(document.createElement('p'));
      p.className = 'when';
      p.textContent = `Parameters: ${it.params
        .map((list) => list.map((v, i) => `$${i + 1} = ${v === null ? 'NULL' : `'${v}'`}`).join(', '))
        .filter(Boolean)
        .join(' | ')}`;
    }
    if (it.blocked) {
      const p = body.appendChild(document.createElement('p'));
      p.className = 'err';
      p.textContent = `Blocked: ${it.blocked}`;
    }
    if (it.error) {
      const p = body.appendChild(document.createElement('p'));
      p.className = 'err';
      p.textContent = `ERROR ${it.error}: ${it.errorMessage ?? ''}`;
    }
  } else {
    li.className = it.kind === 'anomaly' ? 'event anomaly' : 'event';
    const head = body.appendChild(document.createElement('div'));
    const strong = head.appendChild(document.createElement('strong'));
    strong.textContent = KIND_NAMES[it.kind] ?? it.kind;
    head.append(' ', tag(it.kind), ' ', it.summary);
    if (it.fields.length) {
      const small = body.appendChild(document.createElement('div'));
      small.className = 'tags';
      for (const [k, v] of it.fields) small.appendChild(tag(`${k}: ${v}`));
    }
  }
  return li;
}

/** @param {Page} page */
function showTotals(page) {
  const t = page.totals;
  const s = page.session;
  $el('#totals').hidden = false;
  fillList($el('#totals-list'), [
    ['Ended', s.endedAt ? `${s.endReason ?? ''}` : 'still running'],
    ['Duration', t.durationMs === null ? 'still running' : duration(t.durationMs)],
    ['Statements', count(t.statements)],
    ['Errors', count(t.errors)],
    ['Blocked', count(t.blocked)],
    ['Anomalies', count(t.anomalies)],
    ['Rows returned', count(t.rows)],
    ['Bytes returned', count(t.bytes)],
    ['Time in statements', duration(t.ms)],
    ['Audit chain', `${count(s.chainLength)} events, head ${s.chainHead ?? '(open)'}`],
  ]);
}

runPage(async () => {
  const holder = $el('#session');
  const id = holder.dataset['id'] ?? '';
  const list = $el('#timeline');
  list.tabIndex = -1;
  const status = $el('#play-status');
  /** @type {Page | null} */
  let page = null;
  let startMs = 0;
  let current = -1;
  let playing = false;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let timer = null;

  /**
   * A page by offset, or (null) the page of the first statement matching the search this page was
   * opened from (text, table, category, outcome in the address).
   * @param {number | null} offset @param {boolean} push
   */
  const load = async (offset, push) => {
    const find = new URLSearchParams(
      [...new URLSearchParams(location.search)].filter(([k]) => ['text', 'table', 'category', 'outcome'].includes(k)),
    );
    const where = offset === null ? find.toString() : `offset=${offset}`;
    const p = /** @type {Page} */ (
      await api('GET', `/api/audit/sessions/${encodeURIComponent(id)}/timeline?${where}&limit=${PAGE}`)
    );
    if (!page) {
      startMs = Date.parse(p.session.startedAt);
      await showStart(p.session, holder);
      showTotals(p);
    }
    page = p;
    if (push) history.pushState(null, '', `?${find.size ? `${find}&` : ''}offset=${p.offset}`);
    list.replaceChildren(...p.items.map((it) => itemRow(it, startMs)));
    if (p.items.length === 0) list.appendChild(document.createElement('li')).textContent = 'Nothing recorded here.';
    const go = (/** @type {number} */ o) => {
      stop();
      void load(o, true).then(() => list.focus());
    };
    pager($el('#timeline-pager'), p, go, 'timeline items');
    pager($el('#timeline-pager-end'), p, go, 'timeline items');
    $el('#timeline-pager-end').setAttribute('aria-label', 'Pages of timeline items (end of page)');
    if (p.focus !== null) {
      current = p.focus;
      show(current);
      status.textContent = `First match of the search: item ${count(p.focus + 1)} of ${count(p.total)}`;
    }
  };

  /** Marks an item as the one playing and says where the player is. @param {number} index */
  const show = (index) => {
    const before = list.querySelector('li.current');
    before?.classList.remove('current');
    before?.removeAttribute('aria-current');
    const li = document.getElementById(`item-${index}`);
    if (!li || !page) return;
    li.classList.add('current');
    // The player's place, for screen readers as well as the outline.
    li.setAttribute('aria-current', 'step');
    li.scrollIntoView({ block: 'center' });
    const it = page.items.find((x) => x.index === index);
    status.textContent = `Item ${count(index + 1)} of ${count(page.total)}${it ? `, +${duration(Date.parse(it.at) - startMs)}` : ''}`;
  };

  /** One step forward, loading the next page at the end of this one; false at the end of the session. */
  const step = async () => {
    if (!page) return false;
    const next = current + 1;
    if (next >= page.total) return false;
    if (next >= page.offset + page.items.length || next < page.offset) await load(Math.floor(next / PAGE) * PAGE, true);
    current = next;
    show(current);
    return true;
  };

  const stop = () => {
    playing = false;
    if (timer) clearTimeout(timer);
    timer = null;
    $el('#play').textContent = 'Play';
  };

  const tick = async () => {
    if (!playing || !page) return;
    const before = page.items.find((x) => x.index === current);
    if (!(await step())) {
      stop();
      status.textContent = 'End of the session.';
      return;
    }
    const now = page.items.find((x) => x.index === current);
    const speed = Number($('#speed', HTMLSelectElement).value);
    const gap = before && now ? Date.parse(now.at) - Date.parse(before.at) : 0;
    const wait = speed === 0 ? 40 : Math.min(MAX_WAIT_MS, Math.max(40, gap / speed));
    timer = setTimeout(() => void tick(), wait);
  };

  $el('#play').addEventListener('click', () => {
    if (playing) return stop();
    playing = true;
    $el('#play').textContent = 'Pause';
    if (page && (current < page.offset || current >= page.offset + page.items.length)) current = page.offset - 1;
    void tick();
  });
  $el('#step').addEventListener('click', () => {
    stop();
    if (page && (current < page.offset || current >= page.offset + page.items.length)) current = page.offset - 1;
    void step().then((more) => {
      if (!more) status.textContent = 'End of the session.';
    });
  });
  // p and n play and step from anywhere on the page but a field (the buttons say so in aria-keyshortcuts).
  document.addEventListener('keydown', (e) => {
    if (
      e.ctrlKey ||
      e.metaKey ||
      e.altKey ||
      e.target instanceof HTMLInputElement ||
      e.target instanceof HTMLSelectElement
    )
      return;
    if (e.key === 'p') $el('#play').click();
    else if (e.key === 'n') $el('#step').click();
  });
  window.addEventListener('popstate', () => {
    stop();
    const o = new URLSearchParams(location.search).get('offset');
    void load(o === null ? null : Number(o), false);
  });

  const initial = new URLSearchParams(location.search).get('offset');
  await load(initial === null ? null : Number(initial), false);
});
