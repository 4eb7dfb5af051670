// @ts-check
// The console's pages: data from /api, changes with the session's CSRF token in a header.
// Type-checked (tsconfig.web.json) against the API's own response schemas in src/web/api-schemas.ts.

/** @typedef {typeof import('../src/web/api-schemas.js')} Schemas */
/** @template {import('zod').ZodType} S @typedef {import('../src/web/api-schemas.js').ApiResponse<S>} Answer */
/** @template {import('zod').ZodType} S @typedef {import('../src/web/api-schemas.js').ApiRequestBody<S>} Ask */
/** @typedef {Answer<Schemas['decision']>} Decision */
/** @typedef {Answer<Schemas['sessionDetail']>['events'][number]} TimelineEvent */

const csrf = document.querySelector('meta[name="csrf-token"]')?.getAttribute('content') ?? '';

/**
 * The element for a selector, checked to be of the expected kind.
 * @template {Element} T
 * @param {string} selector
 * @param {{ new (): T; prototype: T }} kind
 * @returns {T}
 */
function $(selector, kind) {
  const el = document.querySelector(selector);
  if (!(el instanceof kind)) throw new Error(`the page has no ${selector}`);
  return el;
}
/** @param {string} selector */
const $el = (selector) => $(selector, HTMLElement);
/** @param {string} selector */
const $table = (selector) => $(selector, HTMLTableElement);

/**
 * @param {'GET' | 'POST' | 'PUT'} method
 * @param {string} url
 * @param {unknown} [body]
 * @returns {Promise<unknown>}
 */
async function api(method, url, body) {
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
const message = (err) => (err instanceof Error ? err.message : String(err));

/** @param {unknown} value */
function text(value) {
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
function table(el, columns, rows) {
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
function button(label, onClick, cls) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener('click', () => void onClick());
  return b;
}

/** @param {string} href @param {string} label */
function link(href, label) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = label;
  return a;
}

/** @param {string | null | undefined} t */
const time = (t) => (t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '');

/**
 * The non-empty fields of a form, trimmed.
 * @param {EventTarget | null} form
 * @returns {Record<string, string>}
 */
function formData(form) {
  if (!(form instanceof HTMLFormElement)) return {};
  return Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v !== ''));
}

/** @param {Decision} d */
function decisionText(d) {
  return d.kind === 'grant'
    ? `GRANT by ${d.rule}: ${d.database} as role ${d.role}${d.session.readOnly ? ', read-only' : ''}`
    : `DENY${d.rule ? ` by ${d.rule}` : ''}: ${d.reason}\nThe client sees: ${d.code} ${d.message}`;
}

/**
 * One row per statement run; other events as they are.
 * @param {readonly TimelineEvent[]} events
 */
function timelineRows(events) {
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

/** @type {Record<string, () => Promise<void>>} */
const pages = {
  async me() {
    const [sessions, tokens] = await Promise.all([api('GET', '/api/my/sessions'), api('GET', '/api/my/tokens')]);
    table(
      $table('#my-sessions'),
      [
        ['Started', (r) => time(r.startedAt)],
        ['Database', (r) => r.database],
        ['From', (r) => r.clientAddr],
        ['Statements', (r) => r.statements],
        ['Ended', (r) => (r.endedAt ? `${time(r.endedAt)} (${r.endReason})` : 'running')],
      ],
      /** @type {Answer<Schemas['mySessions']>} */ (sessions),
    );
    table(
      $table('#my-tokens'),
      [
        ['Issued', (r) => time(r.issuedAt)],
        ['Expires', (r) => time(r.expiresAt)],
        ['By', (r) => r.issuedBy],
        [
          'State',
          (r) =>
            r.revokedAt ? `revoked (${r.revokedReason})` : new Date(r.expiresAt) < new Date() ? 'expired' : 'live',
        ],
      ],
      /** @type {Answer<Schemas['myTokens']>} */ (tokens),
    );
  },

  async policy() {
    const current = /** @type {Answer<Schemas['policyInForce']>} */ (await api('GET', '/api/policy'));
    /** @type {Ask<Schemas['documents']>['documents']} */
    const docs = { ...current.documents };
    if (Object.keys(docs).length === 0) docs['policy.yaml'] = 'rules: []\n';
    const select = $('#doc', HTMLSelectElement);
    for (const name of Object.keys(docs)) select.appendChild(new Option(name, name));
    const editor = $('#editor', HTMLTextAreaElement);
    const validation = $el('#validation');
    const save = $('#save', HTMLButtonElement);
    // Files are the source of the policy in force: the editor shows it, checks drafts, saves nothing.
    const readOnly = current.readOnly;
    if (readOnly) {
      const note = $el('#policy-source');
      note.textContent = readOnly;
      note.hidden = false;
      editor.readOnly = true;
    }
    let name = select.value;
    editor.value = docs[name] ?? '';
    select.addEventListener('change', () => {
      name = select.value;
      editor.value = docs[name] ?? '';
    });
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    const validate = async () => {
      const r = /** @type {Answer<Schemas['validation']>} */ (
        await api('POST', '/api/policy/validate', { documents: docs })
      );
      validation.textContent = r.ok ? `Valid: ${r.rules} rules.` : r.problems.map((p) => p.text).join('\n');
      validation.className = r.ok ? 'ok' : 'err';
      save.disabled = !r.ok || readOnly !== null;
    };
    editor.addEventListener('input', () => {
      docs[name] = editor.value;
      save.disabled = true;
      clearTimeout(timer);
      timer = setTimeout(() => void validate(), 250);
    });
    $el('#preview').addEventListener('click', async () => {
      const r = /** @type {Answer<Schemas['diff']>} */ (await api('POST', '/api/policy/diff', { documents: docs }));
      $el('#diff').textContent = r.diff || '(no changes)';
    });
    save.addEventListener('click', async () => {
      try {
        /** @type {Ask<Schemas['saveDocuments']>} */
        const body = { documents: docs, comment: $('#comment', HTMLInputElement).value || undefined };
        const r = /** @type {Answer<Schemas['saved']>} */ (await api('POST', '/api/policy', body));
        validation.textContent = r.created ? `Saved as version ${r.version}.` : `No change from version ${r.version}.`;
        await versions();
      } catch (err) {
        validation.textContent = message(err);
      }
    });
    $el('#dry-run').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = formData(e.target);
      /** @type {Ask<Schemas['dryRunRequest']>} */
      const body = {
        user: f['user'] ?? '',
        database: f['database'] ?? '',
        groups: (f['groups'] ?? '')
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean),
        from: f['from'],
        at: f['at'],
      };
      const out = $el('#dry-run-result');
      try {
        out.textContent = decisionText(/** @type {Decision} */ (await api('POST', '/api/policy/dry-run', body)));
      } catch (err) {
        out.textContent = message(err);
      }
    });
    $el('#who').addEventListener('submit', async (e) => {
      e.preventDefault();
      const rows = /** @type {Answer<Schemas['reachingRules']>} */ (
        await api('GET', `/api/policy/who-can-reach?target=${encodeURIComponent(formData(e.target)['target'] ?? '')}`)
      );
      table(
        $table('#who-result'),
        [
          ['Rule', (r) => r.name],
          ['Effect', (r) => r.effect],
          ['Who', (r) => r.subjects],
          ['Role', (r) => r.role],
          ['Conditions', (r) => r.conditions.join('; ')],
        ],
        rows,
      );
    });
    const versions = async () => {
      const rows = /** @type {Answer<Schemas['versions']>} */ (await api('GET', '/api/policy/versions'));
      table(
        $table('#versions'),
        [
          ['Version', (r) => r.id],
          ['When', (r) => time(r.createdAt)],
          ['Author', (r) => r.author],
          ['Source', (r) => r.source],
          ['Comment', (r) => r.comment],
          [
            '',
            (r) =>
              r.id === rows[0]?.id
                ? 'in force'
                : readOnly
                  ? ''
                  : button(`Roll back to ${r.id}`, async () => {
                      const out = /** @type {Answer<Schemas['rolledBack']>} */ (
                        await api('POST', '/api/policy/rollback', { version: r.id })
                      );
                      validation.textContent = `Version ${out.version} restores version ${r.id}.`;
                      await versions();
                    }),
          ],
        ],
        rows,
      );
    };
    await versions();
    await validate();
  },

  async live() {
    const load = async () => {
      const rows = /** @type {Answer<Schemas['liveSessions']>} */ (await api('GET', '/api/sessions/live'));
      table(
        $table('#live'),
        [
          ['User', (r) => r.username],
          ['Database', (r) => r.database],
          ['From', (r) => r.clientAddr],
          ['Since', (r) => time(r.startedAt)],
          ['Gateway', (r) => r.gatewayId],
          [
            '',
            (r) =>
              button(
                'Kill',
                async () => {
                  await api('POST', `/api/sessions/${r.id}/kill`, {});
                  $el('#live-status').textContent = `Session of ${r.username} terminated.`;
                  setTimeout(() => void load(), 300);
                },
                'danger',
              ),
          ],
        ],
        rows,
      );
    };
    await load();
  },

  async targets() {
    const rows = /** @type {Answer<Schemas['targets']>} */ (await api('GET', '/api/targets'));
    table(
      $table('#targets'),
      [
        ['Target', (r) => r.name],
        ['Server', (r) => `${r.host}:${r.port}/${r.database}`],
        ['TLS', (r) => r.tls],
        ['Default role', (r) => r.role],
        ['Credentials (rotated)', (r) => r.credentials.map((c) => `${c.role} (${time(c.rotatedAt)})`).join(', ')],
      ],
      rows,
    );
    const form = $('#vault', HTMLFormElement);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const status = $el('#vault-status');
      try {
        const r = /** @type {Answer<Schemas['vaultStored']>} */ (await api('PUT', '/api/vault', formData(form)));
        status.textContent = `Stored the credential of ${r.role} on ${r.target}.`;
      } catch (err) {
        status.textContent = message(err);
      }
      form.reset();
    });
  },

  async tokens() {
    const load = async () => {
      const rows = /** @type {Answer<Schemas['liveTokens']>} */ (await api('GET', '/api/tokens'));
      table(
        $table('#tokens'),
        [
          ['User', (r) => r.username],
          ['Groups', (r) => r.groups.join(', ')],
          ['Issued', (r) => time(r.issuedAt)],
          ['Expires', (r) => time(r.expiresAt)],
          ['By', (r) => r.issuedBy],
          [
            '',
            (r) =>
              button(
                'Revoke and end sessions',
                async () => {
                  await api('POST', `/api/tokens/${r.jti}/revoke`, { endSessions: true });
                  $el('#tokens-status').textContent = `Revoked a token of ${r.username}.`;
                  await load();
                },
                'danger',
              ),
          ],
        ],
        rows,
      );
    };
    await load();
  },

  async audit() {
    /** @param {Record<string, string>} params */
    const search = async (params) => {
      const rows = /** @type {Answer<Schemas['sessionSummaries']>} */ (
        await api('GET', `/api/audit/sessions?${new URLSearchParams(params)}`)
      );
      table(
        $table('#results'),
        [
          ['Started', (r) => link(`/audit/sessions/${r.id}`, time(r.startedAt))],
          ['User', (r) => r.username],
          ['Target', (r) => `${r.target}/${r.database}`],
          ['Role', (r) => r.upstreamRole],
          ['From', (r) => r.clientAddr],
          ['Statements', (r) => r.statements],
          ['Anomalies', (r) => r.anomalies],
          ['End', (r) => r.endReason ?? 'running'],
        ],
        rows,
      );
    };
    $el('#search').addEventListener('submit', (e) => {
      e.preventDefault();
      void search(formData(e.target));
    });
    $el('#export').addEventListener('submit', async (e) => {
      e.preventDefault();
      const status = $el('#export-status');
      status.textContent = 'Exporting…';
      try {
        const r = /** @type {Answer<Schemas['exported']>} */ (
          await api('POST', '/api/audit/exports', formData(e.target))
        );
        status.replaceChildren(
          `${r.events} events of ${r.sessions} sessions: `,
          link(r.file, 'export file'),
          ' and ',
          link(r.manifest, 'signed manifest'),
          '. Check with: pgward audit verify FILE',
        );
        status.querySelectorAll('a').forEach((a) => a.setAttribute('download', ''));
      } catch (err) {
        status.textContent = message(err);
      }
    });
    await search({});
  },

  async timeline() {
    const holder = $el('#session');
    const detail = /** @type {Answer<Schemas['sessionDetail']>} */ (
      await api('GET', `/api/audit/sessions/${holder.dataset['id'] ?? ''}`)
    );
    const s = detail.session;
    holder.replaceChildren();
    const dl = document.createElement('dl');
    for (const [k, v] of [
      ['User', s.username],
      ['From', s.clientAddr],
      ['Target', `${s.target}/${s.database} as ${s.upstreamRole}`],
      ['Authentication', s.authMethod],
      ['Policy', `${s.policyRule} (version ${s.policyVersion})`],
      ['TLS', s.tlsVersion],
      ['Started', time(s.startedAt)],
      ['Ended', s.endedAt ? `${time(s.endedAt)} (${s.endReason})` : 'running'],
      ['Chain', `${s.chainLength} events, head ${s.chainHead ?? ''}`],
    ]) {
      dl.appendChild(document.createElement('dt')).textContent = text(k);
      dl.appendChild(document.createElement('dd')).textContent = text(v);
    }
    holder.appendChild(dl);
    table(
      $table('#timeline'),
      [
        ['Time', (r) => time(r.at)],
        ['Event', (r) => r.kind],
        ['Statement', (r) => r.what],
        ['Detail', (r) => r.detail],
      ],
      timelineRows(detail.events),
    );
  },

  async anomalies() {
    const { series, recent } = /** @type {Answer<Schemas['anomalies']>} */ (await api('GET', '/api/audit/anomalies'));
    const buckets = [...new Set(series.map((r) => r.bucket))];
    const kinds = [...new Set(series.map((r) => r.kind))];
    // Chart.js (served from the chart.js package as a global; no inline script under the CSP).
    const { Chart } = /** @type {Window & typeof globalThis & { Chart: typeof import('chart.js').Chart }} */ (window);
    new Chart($('#chart', HTMLCanvasElement), {
      type: 'bar',
      data: {
        labels: buckets.map((b) => time(b).slice(0, 13) + 'h'),
        datasets: kinds.map((k) => ({
          label: k,
          data: buckets.map((b) => series.find((r) => r.bucket === b && r.kind === k)?.n ?? 0),
        })),
      },
      options: {
        animation: false,
        responsive: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
      },
    });
    table(
      $table('#recent'),
      [
        ['When', (r) => time(r.at)],
        ['User', (r) => r.username],
        ['Kind', (r) => r.kind],
        ['Severity', (r) => r.severity],
        ['Action', (r) => r.action],
        ['Session', (r) => (r.sessionId ? link(`/audit/sessions/${r.sessionId}`, 'timeline') : '')],
      ],
      recent,
    );
  },
};

const pageName = document.body.dataset['page'];
const page = pageName ? pages[pageName] : undefined;
if (page) {
  page()
    .then(() => document.body.setAttribute('data-ready', 'true'))
    .catch((err) => {
      const p = document.createElement('p');
      p.setAttribute('role', 'alert');
      p.textContent = message(err);
      document.querySelector('main')?.appendChild(p);
      document.body.setAttribute('data-ready', 'error');
    });
}
