// @ts-check
// The developer's page (console page 'me'): what I can reach now with its psql line, my sessions with their timelines, my tokens.
import { $el, $table, api, link, localTime, runPage, table } from './lib.js';

/** @typedef {typeof import('../../src/web/api-schemas.js')} Schemas */
/** @typedef {typeof import('../../src/web/api-schemas-live.js')} Live */
/** @template {import('zod').ZodType} S @typedef {import('../../src/web/api-schemas.js').ApiResponse<S>} Answer */

/** @param {string} line */
function copyable(line) {
  const wrap = document.createElement('span');
  const code = document.createElement('code');
  code.textContent = line;
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'secondary';
  b.textContent = 'Copy';
  b.setAttribute('aria-label', `Copy: ${line}`);
  b.addEventListener('click', () => {
    void navigator.clipboard?.writeText(line).then(() => (b.textContent = 'Copied'));
  });
  wrap.append(code, ' ', b);
  return wrap;
}

/** @param {string} text @param {string} cls */
function span(text, cls) {
  const s = document.createElement('span');
  s.className = cls;
  s.textContent = text;
  return s;
}

runPage(async () => {
  const [reach, sessions, tokens] = await Promise.all([
    /** @type {Promise<Answer<Live['myReach']>>} */ (api('GET', '/api/my/reach')),
    /** @type {Promise<Answer<Schemas['mySessions']>>} */ (api('GET', '/api/my/sessions')),
    /** @type {Promise<Answer<Schemas['myTokens']>>} */ (api('GET', '/api/my/tokens')),
  ]);
  const note = $el('#reach-note');
  note.replaceChildren(
    `As ${reach.user}${reach.groups.length ? ` (groups ${reach.groups.join(', ')})` : ''}, from ${reach.from}, under policy version ${reach.policyVersion ?? 'from files'}; your token is valid until `,
    localTime(reach.tokenExpiresAt),
    '.',
  );
  const granted = reach.databases.filter((d) => d.granted);
  table(
    $table('#my-reach'),
    [
      ['Database', (d) => (d.database === d.target ? d.database : `${d.database} (on ${d.target})`)],
      [
        'Access',
        (d) =>
          d.granted ? span(d.readOnly ? 'read-only' : 'read and write', 'granted') : span('no access now', 'refused'),
      ],
      ['As role', (d) => d.role ?? ''],
      ['Until', (d) => (d.until ? localTime(d.until) : '')],
      ['Conditions', (d) => (d.granted ? d.conditions.join('; ') : (d.message ?? ''))],
      ['Granted by', (d) => (d.accessRequest ? `access request ${d.accessRequest.slice(0, 8)}` : (d.rule ?? ''))],
      ['psql', (d) => (d.psql ? copyable(d.psql) : d.granted ? 'see the Connect page' : '')],
    ],
    [...granted, ...reach.databases.filter((d) => !d.granted)],
  );
  if (reach.databases.length === 0)
    $table('#my-reach').tBodies[0]?.rows[0]?.cells[0]?.replaceChildren(
      'No database is configured on this gateway yet. Ask an administrator to add a target.',
    );
  else if (granted.length === 0)
    note.append(' No rule lets you in right now: ask an administrator, or request access with pgward request.');

  table(
    $table('#my-sessions'),
    [
      ['Started', (r) => localTime(r.startedAt)],
      ['Database', (r) => `${r.target ?? ''}${r.database && r.database !== r.target ? ` / ${r.database}` : ''}`],
      ['From', (r) => r.clientAddr],
      ['Statements', (r) => r.statements],
      ['Anomalies', (r) => r.anomalies],
      ['Rule', (r) => r.policyRule ?? ''],
      [
        'Ended',
        (r) => {
          if (!r.endedAt) return 'running';
          const s = document.createElement('span');
          s.append(localTime(r.endedAt), ` (${r.endReason ?? ''})`);
          return s;
        },
      ],
      [
        'Timeline',
        (r) => {
          const a = link(`/me/session?id=${encodeURIComponent(r.id)}`, 'timeline');
          a.setAttribute('aria-label', `Timeline of the session started ${new Date(r.startedAt).toLocaleString()}`);
          return a;
        },
      ],
    ],
    sessions,
  );
  if (sessions.length === 0)
    $table('#my-sessions').tBodies[0]?.rows[0]?.cells[0]?.replaceChildren(
      'No sessions yet. Connect with one of the psql lines above; your sessions show here with their timelines.',
    );
  table(
    $table('#my-tokens'),
    [
      ['Issued', (r) => localTime(r.issuedAt)],
      ['Expires', (r) => localTime(r.expiresAt)],
      ['By', (r) => r.issuedBy],
      [
        'State',
        (r) => (r.revokedAt ? `revoked (${r.revokedReason})` : new Date(r.expiresAt) < new Date() ? 'expired' : 'live'),
      ],
    ],
    tokens,
  );
});
