// @ts-check
// Shared by the console's page modules (web/console/<page>.js): data from /api, changes with the session's CSRF token in a header.
// Type-checked (tsconfig.web.json) against the API's own response schemas in src/web/api-schemas.ts.

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

export const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

/**
 * The element for a selector, checked to be of the expected kind.
 * @template {Element} T
 * @param {string} selector
 * @param {{ new (): T; prototype: T }} kind
 * @returns {T}
 */
export function $(selector, kind) {
  const el = document.querySelector(selector);
  if (!(el instanceof kind)) throw new Error(`the page has no ${selector}`);
  return el;
}
/** @param {string} selector */
export const $el = (selector) => $(selector, HTMLElement);
/** @param {string} selector */
export const $table = (selector) => $(selector, HTMLTableElement);

/**
 * @param {'GET' | 'POST' | 'PUT'} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
export async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers:
      body === undefined ? { 'x-csrf-token': csrf } : { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  /** @type {{ error?: string }} */
  const data = await res.json().catch(() => ({}));
  // 401: the session ended (signed out or revoked elsewhere) or a role needs a new sign-in;
  // the sign-in brings the person back to this page.
  if (res.status === 401)
    location.assign(`/auth/login?next=${encodeURIComponent(location.pathname + location.search)}`);
  if (!res.ok) throw new Error(data.error ?? `HTTP ${res.status}`);
  return data;
}

/** @param {unknown} err */
export const message = (err) => (err instanceof Error ? err.message : String(err));

/** @param {unknown} value */
export function text(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * Fills a table from rows; columns are [header, row => value or Node].
 * @template R
 * @param {HTMLTableElement} el
 * @param {Array<[string, (row: R) => unknown]>} columns
 * @param {readonly R[]} rows
 */
export function table(el, columns, rows) {
  el.replaceChildren();
  const head = el.createTHead().insertRow();
  for (const [h] of columns) head.appendChild(document.createElement('th')).textContent = h;
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    for (const [, get] of columns) {
      const v = get(row);
      const td = tr.insertCell();
      if (v instanceof Node) td.appendChild(v);
      else td.textContent = text(v);
    }
  }
  if (rows.length === 0) body.insertRow().insertCell().textContent = 'Nothing yet.';
}

/**
 * @param {string} label
 * @param {() => void | Promise<void>} onClick
 * @param {string} [cls]
 */
export function button(label, onClick, cls) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener('click', () => void onClick());
  return b;
}

/** @param {string} href @param {string} label */
export function link(href, label) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = label;
  return a;
}

/** @param {string | null | undefined} t */
export const time = (t) => (t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '');

/**
 * The non-empty fields of a form, trimmed.
 * @param {EventTarget | null} form
 * @returns {Record<string, string>}
 */
export function formData(form) {
  if (!(form instanceof HTMLFormElement)) return {};
  return Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v !== ''));
}

/** @param {Decision} d */
export function decisionText(d) {
  return d.kind === 'grant'
    ? `GRANT by ${d.rule}: ${d.database} as role ${d.role}${d.session.readOnly ? ', read-only' : ''}`
    : `DENY${d.rule ? ` by ${d.rule}` : ''}: ${d.reason}\nThe client sees: ${d.code} ${d.message}`;
}

/**
 * One row per statement run; other events as they are.
 * @param {readonly TimelineEvent[]} events
 */
export function timelineRows(events) {
  /** @type {Array<{ at: string; kind: string; what: string; detail: string }>} */
  const rows = [];
  for (const e of events) {
    if (e.runs) {
      for (const run of e.runs) {
        rows.push({
          at: run.at,
          kind: 'statement',
          what: run.sql.join('; '),
          detail: `${run.outcome}, ${run.rows} rows, ${run.ms} ms${run.error ? `, ${run.error}` : ''}`,
        });
      }
    } else if (e.kind === 'anomaly' && e.payload) {
      const p = e.payload;
      rows.push({
        at: e.at,
        kind: 'anomaly',
        what: `${text(p['kind'])} (${text(p['severity'])})`,
        detail: `${text(p['action'])}${p['risk'] ? `: ${text(p['risk'])}` : ''}`,
      });
    } else {
      rows.push({ at: e.at, kind: e.kind, what: '', detail: JSON.stringify(e.payload) });
    }
  }
  return rows;
}

/**
 * Runs a page's loader and marks the body ready (tests wait for data-ready), or shows the error.
 * @param {() => Promise<void>} load
 */
export function runPage(load) {
  load()
    .then(() => document.body.setAttribute('data-ready', 'true'))
    .catch((err) => {
      const p = document.createElement('p');
      p.setAttribute('role', 'alert');
      p.textContent = message(err);
      document.querySelector('main')?.appendChild(p);
      document.body.setAttribute('data-ready', 'error');
    });
}

/**
 * A time for people: shown in the viewer's own time zone, with the UTC instant on hover
 * (a <time> element, so screen readers and copy/paste get the machine-readable value too).
 * @param {string | Date | null | undefined} t
 * @returns {HTMLTimeElement | string}
 */
export function localTime(t) {
  if (!t) return '';
  const d = t instanceof Date ? t : new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  const el = document.createElement('time');
  el.dateTime = d.toISOString();
  el.title = `${d.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
  el.textContent = d.toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
  return el;
}

/**
 * Where a page of a list sits ("1–50 of 1,234") with Previous and Next buttons; `go` loads the
 * page starting at the given offset. Fills `el`, which the page gives a place above its list.
 * @param {HTMLElement} el
 * @param {{ offset: number; limit: number; total: number }} p
 * @param {(offset: number) => void} go
 * @param {string} [label] what the list holds, for screen readers ("sessions")
 */
export function pager(el, p, go, label = 'items') {
  const n = (/** @type {number} */ x) => x.toLocaleString();
  const last = Math.min(p.offset + p.limit, p.total);
  const where = document.createElement('span');
  where.className = 'where';
  where.textContent = p.total === 0 ? `0 ${label}` : `${n(p.offset + 1)}–${n(last)} of ${n(p.total)} ${label}`;
  const prev = button('Previous', () => go(Math.max(0, p.offset - p.limit)), 'secondary');
  prev.disabled = p.offset === 0;
  const next = button('Next', () => go(p.offset + p.limit), 'secondary');
  next.disabled = last >= p.total;
  el.replaceChildren(prev, where, next);
  el.setAttribute('role', 'navigation');
  el.setAttribute('aria-label', `Pages of ${label}`);
}
