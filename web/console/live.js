// @ts-check
// The live sessions page (console page 'live'): every open session, what it runs now, filters, sort, refresh, Kill with a reason.
import { $, $el, $table, api, button, localTime, message, runPage } from './lib.js';

/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @typedef {typeof import('../../src/web/api-schemas-live.js')} Live */
/** @typedef {Answer<Live['liveSessionRows']>} Rows */
/** @typedef {Rows[number]} Row */
/** @typedef {Answer<Live['killResult']>} KillResult */

/** Polling, not server-sent events: see docs/console.md ("Live sessions"). */
const REFRESH_MS = 3000;

/** @param {number} ms */
function duration(ms) {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** @param {number} n */
function bytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** The state a person filters by: running, idle, or the transaction state when it matters more. @param {Row} r */
function stateOf(r) {
  if (!r.live) return 'unknown';
  if (r.live.transaction === 'failed') return 'failed';
  if (r.live.state === 'active') return 'active';
  if (r.live.transaction === 'in transaction') return 'in transaction';
  return 'idle';
}

/** @param {Row} r */
function stateText(r) {
  if (!r.live) return `on gateway ${r.gatewayId}`;
  const tx = r.live.transaction === null ? '' : r.live.transaction === 'idle' ? '' : `, ${r.live.transaction}`;
  return `${r.live.state === 'active' ? 'running' : 'idle'}${tx}`;
}

/**
 * Columns: header, sort key, cell.
 * @type {Array<{ name: string; key: (r: Row, at: number) => string | number; cell: (r: Row, at: number) => string | Node }>}
 */
const COLUMNS = [
  { name: 'User', key: (r) => r.username ?? '', cell: (r) => r.username ?? '' },
  {
    name: 'Upstream role',
    key: (r) => r.upstreamRole ?? '',
    cell: (r) => (r.upstreamRole ?? '') + (r.readOnly ? ' (read-only)' : ''),
  },
  { name: 'Application', key: (r) => r.applicationName ?? '', cell: (r) => r.applicationName ?? '' },
  {
    name: 'Target / database',
    key: (r) => `${r.target}/${r.database}`,
    cell: (r) => `${r.target ?? ''} / ${r.database ?? ''}`,
  },
  { name: 'Source', key: (r) => r.clientAddr, cell: (r) => r.clientAddr },
  { name: 'Since', key: (r) => r.startedAt, cell: (r) => localTime(r.startedAt) },
  { name: 'Gateway', key: (r) => r.gatewayId, cell: (r) => r.gatewayId },
  {
    name: 'Running now',
    key: (r) => r.live?.statement ?? '',
    cell: (r) => {
      const sql = r.live?.statement;
      if (!r.live && r.lastSeen) {
        const seen = document.createElement('span');
        const code = document.createElement('code');
        code.textContent = r.lastSeen.sql.length > 160 ? `${r.lastSeen.sql.slice(0, 160)}…` : r.lastSeen.sql;
        code.title = r.lastSeen.sql;
        seen.append('last recorded: ', code, ' at ', localTime(r.lastSeen.at));
        return seen;
      }
      if (!sql) return r.live ? (r.live.statements === null ? '(not observed: detector off)' : '') : '';
      const code = document.createElement('code');
      code.textContent = sql.length > 160 ? `${sql.slice(0, 160)}…` : sql;
      code.title = sql;
      return code;
    },
  },
  {
    name: 'For',
    key: (r) => r.live?.runningMs ?? -1,
    cell: (r) => (r.live?.runningMs != null ? duration(r.live.runningMs) : ''),
  },
  { name: 'State', key: (r) => stateOf(r), cell: (r) => stateText(r) },
  { name: 'Rows', key: (r) => r.live?.rowsToClient ?? -1, cell: (r) => (r.live ? String(r.live.rowsToClient) : '') },
  {
    name: 'Bytes in / out',
    key: (r) => (r.live ? r.live.bytesFromClient + r.live.bytesToClient : -1),
    cell: (r) => (r.live ? `${bytes(r.live.bytesFromClient)} / ${bytes(r.live.bytesToClient)}` : ''),
  },
  { name: 'Anomalies', key: (r) => r.anomalies, cell: (r) => String(r.anomalies) },
  {
    name: 'Granted by',
    key: (r) => r.policyRule ?? '',
    cell: (r) => `${r.policyRule ?? ''}${r.accessRequest ? ` (request ${r.accessRequest.slice(0, 8)})` : ''}`,
  },
];

runPage(async () => {
  /** @type {Rows | null} */
  let data = null;
  let loadedAt = Date.now();
  let sortBy = 5;
  let descending = true;
  /** @type {Row | null} */
  let killing = null;
  const filter = $('#live-filter', HTMLFormElement);
  const dialog = $('#kill-dialog', HTMLDialogElement);
  const reason = $('#kill-reason', HTMLTextAreaElement);
  const revoke = $('#kill-revoke', HTMLInputElement);
  const lockFor = $('#kill-lock', HTMLInputElement);
  const refresh = $('#f-refresh', HTMLInputElement);

  const render = () => {
    if (!data) return;
    const at = loadedAt;
    const f = Object.fromEntries([...new FormData(filter)].map(([k, v]) => [k, String(v).trim().toLowerCase()]));
    const has = (/** @type {string | null} */ v, /** @type {string | undefined} */ q) =>
      !q || (v ?? '').toLowerCase().includes(q);
    const rows = data.filter(
      (r) =>
        has(r.username, f['user']) &&
        (has(r.target, f['target']) || has(r.database, f['target'])) &&
        has(r.upstreamRole, f['role']) &&
        (!f['state'] || stateOf(r) === f['state']),
    );
    const col = COLUMNS[sortBy] ?? COLUMNS[5];
    if (!col) return;
    rows.sort((a, b) => {
      const x = col.key(a, at);
      const y = col.key(b, at);
      const c = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
      return descending ? -c : c;
    });
    const el = $table('#live');
    // A refresh redraws the table: whoever is on a button by keyboard stays on it.
    const focused =
      document.activeElement instanceof HTMLElement ? document.activeElement.dataset['focusKey'] : undefined;
    const caption = el.caption;
    el.replaceChildren();
    if (caption) el.appendChild(caption);
    const head = el.createTHead().insertRow();
    COLUMNS.forEach((c, i) => {
      const th = document.createElement('th');
      th.scope = 'col';
      if (i === sortBy) th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
      th.appendChild(
        button(
          `${c.name}${i === sortBy ? (descending ? ' ▼' : ' ▲') : ''}`,
          () => {
            if (sortBy === i) descending = !descending;
            else [sortBy, descending] = [i, false];
            render();
            /** @type {HTMLElement | null} */ (
              document.querySelector(`#live thead th:nth-child(${i + 1}) button`)
            )?.focus();
          },
          'sort',
        ),
      );
      if (th.firstElementChild instanceof HTMLElement) th.firstElementChild.dataset['focusKey'] = `sort:${i}`;
      head.appendChild(th);
    });
    head.appendChild(document.createElement('th')).textContent = 'Action';
    const body = el.createTBody();
    for (const r of rows) {
      const tr = body.insertRow();
      tr.dataset['session'] = r.id;
      for (const c of COLUMNS) {
        const td = tr.insertCell();
        const v = c.cell(r, at);
        if (v instanceof Node) td.appendChild(v);
        else td.textContent = v;
      }
      const kill = button('Kill…', () => openKill(r), 'danger');
      kill.setAttribute('aria-label', `Kill the session of ${r.username ?? 'unknown'} from ${r.clientAddr}`);
      kill.dataset['focusKey'] = `kill:${r.id}`;
      tr.insertCell().appendChild(kill);
    }
    if (rows.length === 0) {
      const td = body.insertRow().insertCell();
      td.colSpan = COLUMNS.length + 1;
      td.textContent =
        data.length === 0
          ? 'No session is open on any gateway. Sessions appear here as soon as someone connects with psql (see the Connect page for the line).'
          : 'No session matches the filter. Clear a field above to see more.';
    }
    if (focused)
      /** @type {HTMLElement | null} */ (el.querySelector(`[data-focus-key="${CSS.escape(focused)}"]`))?.focus();
    $el('#live-summary').textContent =
      `${rows.length} of ${data.length} sessions shown, as of ${new Date(at).toLocaleTimeString()}.` +
      (data.some((r) => !r.here) ? ' Live numbers are shown for the sessions of this console’s gateway.' : '');
  };

  const load = async () => {
    data = /** @type {Rows} */ (await api('GET', '/api/sessions/live'));
    loadedAt = Date.now();
    render();
  };

  /** @param {Row} r */
  const openKill = (r) => {
    killing = r;
    $el('#kill-who').textContent =
      `${r.username ?? 'unknown'} on ${r.target ?? ''}/${r.database ?? ''} as ${r.upstreamRole ?? ''}, from ${r.clientAddr} (gateway ${r.gatewayId}).`;
    reason.value = '';
    revoke.checked = false;
    lockFor.value = '';
    $el('#kill-error').textContent = '';
    dialog.showModal();
    reason.focus();
  };

  $('#kill-cancel', HTMLButtonElement).addEventListener('click', () => dialog.close());
  $('#kill-form', HTMLFormElement).addEventListener('submit', (ev) => {
    ev.preventDefault();
    const r = killing;
    if (!r) return;
    void (async () => {
      try {
        const res = /** @type {KillResult} */ (
          await api('POST', `/api/sessions/${r.id}/kill`, {
            reason: reason.value,
            revokeToken: revoke.checked,
            ...(lockFor.value ? { lockMinutes: Number(lockFor.value) } : {}),
          })
        );
        dialog.close();
        const token =
          res.revoked === undefined
            ? ''
            : res.revoked
              ? ' Its token is revoked.'
              : ` The token was not revoked: ${res.note ?? 'already revoked'}.`;
        const status = $el('#live-status');
        status.tabIndex = -1;
        status.focus();
        const locked = res.lockedUntil ? ` Locked out until ${new Date(res.lockedUntil).toLocaleString()}.` : '';
        status.textContent = `Session of ${r.username ?? 'unknown'} ended. The client was told: "${res.message ?? ''}".${token}${locked}`;
        setTimeout(() => void load().catch(() => undefined), 300);
      } catch (err) {
        $el('#kill-error').textContent = message(err);
      }
    })();
  });
  // The filter lives in the address too, so a filtered view can be bookmarked or shared.
  for (const [k, v] of new URLSearchParams(location.search)) {
    const field = filter.elements.namedItem(k);
    if (field instanceof HTMLInputElement && field.type !== 'checkbox') field.value = v;
    if (field instanceof HTMLSelectElement) field.value = v;
  }
  filter.addEventListener('input', () => {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(filter)) if (k !== 'refresh' && String(v).trim()) q.set(k, String(v).trim());
    history.replaceState(null, '', q.size ? `?${q}` : location.pathname);
    render();
  });
  filter.addEventListener('submit', (ev) => ev.preventDefault());

  await load();
  // Polls while the box is ticked, the tab is visible and no kill is being written.
  setInterval(() => {
    if (refresh.checked && !document.hidden && !dialog.open)
      void load().catch((err) => {
        $el('#live-status').textContent = `Refresh failed: ${message(err)}`;
      });
  }, REFRESH_MS);
});
