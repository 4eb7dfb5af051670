// The console's pages: data from /api, changes with the session's CSRF token in a header.
const csrf = document.querySelector('meta[name="csrf-token"]')?.content ?? '';
const $ = (sel) => document.querySelector(sel);

async function api(method, url, body) {
  const res = await fetch(url, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? { 'x-csrf-token': csrf } : { 'content-type': 'application/json', 'x-csrf-token': csrf },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.error ?? `HTTP ${res.status}`);
  return data;
}

function text(value) {
  if (value === null || value === undefined) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/** Fills a table from rows; columns are [header, row => value or Node]. */
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

function button(label, onClick, cls) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = label;
  if (cls) b.className = cls;
  b.addEventListener('click', onClick);
  return b;
}

function link(href, label) {
  const a = document.createElement('a');
  a.href = href;
  a.textContent = label;
  return a;
}

const time = (t) => (t ? new Date(t).toISOString().replace('T', ' ').slice(0, 19) : '');
const formData = (form) => Object.fromEntries([...new FormData(form)].map(([k, v]) => [k, String(v).trim()]).filter(([, v]) => v !== ''));

const pages = {
  async me() {
    const [sessions, tokens] = await Promise.all([api('GET', '/api/my/sessions'), api('GET', '/api/my/tokens')]);
    table($('#my-sessions'), [
      ['Started', (r) => time(r.started_at)],
      ['Database', (r) => r.database],
      ['From', (r) => r.client_addr],
      ['Statements', (r) => r.statements],
      ['Ended', (r) => (r.ended_at ? `${time(r.ended_at)} (${r.end_reason})` : 'running')],
    ], sessions);
    table($('#my-tokens'), [
      ['Issued', (r) => time(r.issued_at)],
      ['Expires', (r) => time(r.expires_at)],
      ['By', (r) => r.issued_by],
      ['State', (r) => (r.revoked_at ? `revoked (${r.revoked_reason})` : new Date(r.expires_at) < new Date() ? 'expired' : 'live')],
    ], tokens);
  },

  async policy() {
    const current = await api('GET', '/api/policy');
    const docs = { ...current.documents };
    if (Object.keys(docs).length === 0) docs['policy.yaml'] = 'rules: []\n';
    const select = $('#doc');
    for (const name of Object.keys(docs)) select.appendChild(new Option(name, name));
    const editor = $('#editor');
    let name = select.value;
    editor.value = docs[name];
    select.addEventListener('change', () => {
      name = select.value;
      editor.value = docs[name];
    });
    let timer = null;
    const validate = async () => {
      const r = await api('POST', '/api/policy/validate', { documents: docs });
      $('#validation').textContent = r.ok ? `Valid: ${r.rules} rules.` : r.problems.map((p) => p.text).join('\n');
      $('#validation').className = r.ok ? 'ok' : 'err';
      $('#save').disabled = !r.ok;
    };
    editor.addEventListener('input', () => {
      docs[name] = editor.value;
      $('#save').disabled = true;
      clearTimeout(timer);
      timer = setTimeout(validate, 250);
    });
    $('#preview').addEventListener('click', async () => {
      $('#diff').textContent = (await api('POST', '/api/policy/diff', { documents: docs })).diff || '(no changes)';
    });
    $('#save').addEventListener('click', async () => {
      try {
        const r = await api('POST', '/api/policy', { documents: docs, comment: $('#comment').value || undefined });
        $('#validation').textContent = r.created ? `Saved as version ${r.version}.` : `No change from version ${r.version}.`;
        await versions();
      } catch (err) {
        $('#validation').textContent = err.message;
      }
    });
    $('#dry-run').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = formData(e.target);
      const body = { user: f.user, database: f.database, groups: (f.groups ?? '').split(',').map((g) => g.trim()).filter(Boolean), from: f.from, at: f.at };
      const d = await api('POST', '/api/policy/dry-run', body).catch((err) => ({ error: err.message }));
      $('#dry-run-result').textContent = d.error
        ? d.error
        : d.kind === 'grant'
          ? `GRANT by ${d.rule}: ${d.database} as role ${d.role}${d.session.readOnly ? ', read-only' : ''}`
          : `DENY${d.rule ? ` by ${d.rule}` : ''}: ${d.reason}\nThe client sees: ${d.code} ${d.message}`;
    });
    $('#who').addEventListener('submit', async (e) => {
      e.preventDefault();
      const rows = await api('GET', `/api/policy/who-can-reach?target=${encodeURIComponent(formData(e.target).target)}`);
      table($('#who-result'), [
        ['Rule', (r) => r.name],
        ['Effect', (r) => r.effect],
        ['Who', (r) => r.subjects],
        ['Role', (r) => r.role],
        ['Conditions', (r) => r.conditions.join('; ')],
      ], rows);
    });
    const versions = async () => {
      const rows = await api('GET', '/api/policy/versions');
      table($('#versions'), [
        ['Version', (r) => r.id],
        ['When', (r) => time(r.createdAt)],
        ['Author', (r) => r.author],
        ['Source', (r) => r.source],
        ['Comment', (r) => r.comment],
        ['', (r) =>
          r.id === rows[0]?.id
            ? 'in force'
            : button(`Roll back to ${r.id}`, async () => {
                const out = await api('POST', '/api/policy/rollback', { version: r.id });
                $('#validation').textContent = `Version ${out.version} restores version ${r.id}.`;
                await versions();
              })],
      ], rows);
    };
    await versions();
    await validate();
  },

  async live() {
    const load = async () => {
      const rows = await api('GET', '/api/sessions/live');
      table($('#live'), [
        ['User', (r) => r.username],
        ['Database', (r) => r.database],
        ['From', (r) => r.client_addr],
        ['Since', (r) => time(r.started_at)],
        ['Gateway', (r) => r.gateway_id],
        ['', (r) =>
          button('Kill', async () => {
            await api('POST', `/api/sessions/${r.id}/kill`, {});
            $('#live-status').textContent = `Session of ${r.username} terminated.`;
            setTimeout(load, 300);
          }, 'danger')],
      ], rows);
    };
    await load();
  },

  async targets() {
    const rows = await api('GET', '/api/targets');
    table($('#targets'), [
      ['Target', (r) => r.name],
      ['Server', (r) => `${r.host}:${r.port}/${r.database}`],
      ['TLS', (r) => r.tls],
      ['Default role', (r) => r.role],
      ['Credentials (rotated)', (r) => r.credentials.map((c) => `${c.role} (${time(c.rotatedAt)})`).join(', ')],
    ], rows);
    $('#vault').addEventListener('submit', async (e) => {
      e.preventDefault();
      const f = formData(e.target);
      const r = await api('PUT', '/api/vault', f).catch((err) => ({ error: err.message }));
      e.target.reset();
      $('#vault-status').textContent = r.error ?? `Stored the credential of ${r.role} on ${r.target}.`;
    });
  },

  async tokens() {
    const load = async () => {
      const rows = await api('GET', '/api/tokens');
      table($('#tokens'), [
        ['User', (r) => r.username],
        ['Groups', (r) => r.groups.join(', ')],
        ['Issued', (r) => time(r.issued_at)],
        ['Expires', (r) => time(r.expires_at)],
        ['By', (r) => r.issued_by],
        ['', (r) =>
          button('Revoke and end sessions', async () => {
            await api('POST', `/api/tokens/${r.jti}/revoke`, { endSessions: true });
            $('#tokens-status').textContent = `Revoked a token of ${r.username}.`;
            await load();
          }, 'danger')],
      ], rows);
    };
    await load();
  },

  async audit() {
    const search = async (params) => {
      const rows = await api('GET', `/api/audit/sessions?${new URLSearchParams(params)}`);
      table($('#results'), [
        ['Started', (r) => link(`/audit/sessions/${r.id}`, time(r.started_at))],
        ['User', (r) => r.username],
        ['Target', (r) => `${r.target}/${r.database}`],
        ['Role', (r) => r.upstream_role],
        ['From', (r) => r.client_addr],
        ['Statements', (r) => r.statements],
        ['Anomalies', (r) => r.anomalies],
        ['End', (r) => r.end_reason ?? 'running'],
      ], rows);
    };
    $('#search').addEventListener('submit', (e) => {
      e.preventDefault();
      void search(formData(e.target));
    });
    $('#export').addEventListener('submit', async (e) => {
      e.preventDefault();
      const status = $('#export-status');
      status.textContent = 'Exporting…';
      try {
        const r = await api('POST', '/api/audit/exports', formData(e.target));
        status.replaceChildren(`${r.events} events of ${r.sessions} sessions: `, link(r.file, 'export file'), ' and ', link(r.manifest, 'signed manifest'), '. Check with: pgward audit verify FILE');
        status.querySelectorAll('a').forEach((a) => a.setAttribute('download', ''));
      } catch (err) {
        status.textContent = err.message;
      }
    });
    await search({});
  },

  async timeline() {
    const id = $('#session').dataset.id;
    const { session: s, events } = await api('GET', `/api/audit/sessions/${id}`);
    $('#session').innerHTML = '';
    const dl = document.createElement('dl');
    for (const [k, v] of [
      ['User', s.username], ['From', s.client_addr], ['Target', `${s.target}/${s.database} as ${s.upstream_role}`], ['Authentication', s.auth_method],
      ['Policy', `${s.policy_rule} (version ${s.policy_version})`], ['TLS', s.tls_version], ['Started', time(s.started_at)],
      ['Ended', s.ended_at ? `${time(s.ended_at)} (${s.end_reason})` : 'running'], ['Chain', `${s.chain_length} events, head ${s.chain_head ?? ''}`],
    ]) {
      dl.appendChild(document.createElement('dt')).textContent = k;
      dl.appendChild(document.createElement('dd')).textContent = text(v);
    }
    $('#session').appendChild(dl);
    // One row per statement run; other events as they are.
    const rows = [];
    for (const e of events) {
      if (e.kind === 'statements') {
        const start = new Date(e.payload.start).getTime();
        for (const run of e.payload.runs) {
          const refs = Array.isArray(run[0]) ? run[0] : [run[0]];
          rows.push({ at: new Date(start + run[4]).toISOString(), kind: 'statement', what: refs.map((i) => e.payload.statements[i].sql).join('; '), detail: `${run[5]}, ${run[1]} rows, ${run[3]} ms${run[6] ? `, ${run[6]}` : ''}`, cls: run[5] === 'ok' ? '' : 'warn' });
        }
      } else if (e.kind === 'anomaly') {
        rows.push({ at: e.at, kind: 'anomaly', what: `${e.payload.kind} (${e.payload.severity})`, detail: `${e.payload.action}${e.payload.risk ? `: ${e.payload.risk}` : ''}`, cls: 'danger' });
      } else {
        rows.push({ at: e.at, kind: e.kind, what: '', detail: JSON.stringify(e.payload), cls: '' });
      }
    }
    table($('#timeline'), [
      ['Time', (r) => time(r.at)],
      ['Event', (r) => r.kind],
      ['Statement', (r) => r.what],
      ['Detail', (r) => r.detail],
    ], rows);
  },

  async anomalies() {
    const { series, recent } = await api('GET', '/api/audit/anomalies');
    const buckets = [...new Set(series.map((r) => r.bucket))];
    const kinds = [...new Set(series.map((r) => r.kind))];
    // Chart.js (served from the chart.js package; no inline script under the CSP).
    new window.Chart($('#chart'), {
      type: 'bar',
      data: {
        labels: buckets.map((b) => time(b).slice(0, 13) + 'h'),
        datasets: kinds.map((k) => ({ label: k, data: buckets.map((b) => series.find((r) => r.bucket === b && r.kind === k)?.n ?? 0) })),
      },
      options: { animation: false, responsive: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
    table($('#recent'), [
      ['When', (r) => time(r.at)],
      ['User', (r) => r.username],
      ['Kind', (r) => r.kind],
      ['Severity', (r) => r.severity],
      ['Action', (r) => r.action],
      ['Session', (r) => (r.session_id ? link(`/audit/sessions/${r.session_id}`, 'timeline') : '')],
    ], recent);
  },
};

const name = document.body.dataset.page;
if (name && pages[name]) {
  pages[name]()
    .then(() => document.body.setAttribute('data-ready', 'true'))
    .catch((err) => {
      const p = document.createElement('p');
      p.setAttribute('role', 'alert');
      p.textContent = err.message;
      document.querySelector('main').appendChild(p);
      document.body.setAttribute('data-ready', 'error');
    });
}
