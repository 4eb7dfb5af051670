import type { AddPage, AddParamPage } from './page-adder.js';
import { esc } from './html.js';

const CSS =
  '<link rel="stylesheet" href="/static/console/insight.css"><link rel="stylesheet" href="/static/console/audit.css">';

/** A labelled input of a filter form (the label names it for screen readers; no placeholder stands in for it). */
const field = (form: string, name: string, label: string, extra = ''): string =>
  `<label for="${form}-${name}">${label} <input id="${form}-${name}" name="${name}" autocomplete="off"${extra}></label>`;

const TIME_HINT = 'e.g. 2026-12-04 or 2026-12-04T10:30Z';

/** The auditor's pages: search and export, a session's timeline, anomalies, logins and admin actions. */
export function auditPages(page: AddPage, pageWithParam: AddParamPage): void {
  page(
    '/audit',
    'auditor',
    'Audit',
    'audit',
    `${CSS}
<form id="search" class="filters wide-page" role="search" aria-label="Search sessions" novalidate>
${field('s', 'user', 'User', ' type="search"')}
${field('s', 'target', 'Target', ' type="search"')}
${field('s', 'from', 'From (UTC)', ` aria-describedby="s-time-hint"`)}
${field('s', 'to', 'To (UTC)', ` aria-describedby="s-time-hint"`)}
${field('s', 'text', 'Statement contains', ' type="search"')}
${field('s', 'table', 'Table', ' type="search"')}
<label for="s-category">Classification <select id="s-category" name="category"><option value="">any</option>
${['read', 'write', 'ddl', 'dcl', 'transaction', 'utility', 'invalid'].map((c) => `<option>${c}</option>`).join('')}</select></label>
<label for="s-outcome">Outcome <select id="s-outcome" name="outcome"><option value="">any</option>
<option>ok</option><option>error</option><option>blocked</option><option>interrupted</option></select></label>
${field('s', 'anomaly', 'Anomaly kind (* any)', ' type="search"')}
${field('s', 'endReason', 'End reason', ' type="search"')}
<button type="submit">Search</button>
</form>
<p id="s-time-hint" class="hint">Times: ${TIME_HINT}. Statement filters look inside each session's recorded statements.</p>
<p id="search-error" role="alert" class="error-message"></p>
<div class="pager" id="results-pager"></div>
<div class="wide"><table id="results" class="data"><caption class="visually-hidden">Sessions found; each start time opens the session's playback</caption></table></div>
<h2>Export</h2>
<form id="export" class="filters" aria-label="Export the audit record">
${field('e', 'from', 'From (UTC)', ` required aria-describedby="e-hint"`)}
${field('e', 'to', 'To (UTC)', ` aria-describedby="e-hint"`)}
${field('e', 'user', 'User')}
<label for="e-format">Format <select id="e-format" name="format"><option>jsonl</option><option>csv</option><option>ocsf</option></select></label>
<label for="e-side" class="check"><input id="e-side" name="side" type="checkbox" checked> With logins and admin actions</label>
<button type="submit">Export</button></form>
<p id="e-hint" class="hint">Times: ${TIME_HINT}. The export carries a signed manifest; check both with <code>pgward audit verify</code>.</p>
<p id="export-status" role="status"></p>`,
  );
  pageWithParam(
    '/audit/sessions/:id',
    'auditor',
    'Session playback',
    'timeline',
    (params) =>
      `${CSS}<div id="session" data-id="${esc(params['id'] ?? '')}" class="wide-page"></div>
<div class="player" id="player" role="group" aria-label="Play the statements">
<button type="button" id="play" aria-keyshortcuts="p">Play</button>
<button type="button" id="step" class="secondary" aria-keyshortcuts="n">Step</button>
<label for="speed">Speed <select id="speed"><option value="1">1×</option><option value="4">4×</option><option value="16" selected>16×</option><option value="100">100×</option><option value="0">no waiting</option></select></label>
<span id="play-status" role="status" aria-live="polite"></span>
<span class="hint">Keys: p play or pause, n next statement</span>
</div>
<div class="pager" id="timeline-pager"></div>
<ol id="timeline" class="timeline" aria-label="Timeline"></ol>
<div class="pager" id="timeline-pager-end"></div>
<section id="totals" class="totals" aria-labelledby="totals-h" hidden><h2 id="totals-h">End and totals</h2><dl id="totals-list"></dl></section>`,
  );
  page(
    '/audit/events',
    'auditor',
    'Logins and admin actions',
    'events',
    `${CSS}
<div role="group" aria-label="Which events" class="pager wide-page">
<button type="button" id="show-auth" aria-pressed="true">Logins</button>
<button type="button" id="show-admin" aria-pressed="false" class="secondary">Admin actions</button>
</div>
<form id="ev-search" class="filters" role="search" aria-label="Search logins and admin actions" novalidate>
${field('ev', 'user', 'User', ' type="search"')}
<label for="ev-outcome">Outcome <select id="ev-outcome" name="outcome"><option value="">any</option><option value="failure">refused</option><option value="success">accepted</option></select></label>
${field('ev', 'text', 'Reason or action contains', ' type="search"')}
${field('ev', 'from', 'From (UTC)', ` aria-describedby="ev-hint"`)}
${field('ev', 'to', 'To (UTC)', ` aria-describedby="ev-hint"`)}
<button type="submit">Search</button>
</form>
<p id="ev-hint" class="hint">Times: ${TIME_HINT}. Outcome applies to logins.</p>
<p id="events-error" role="alert" class="error-message"></p>
<div class="pager" id="events-pager"></div>
<div class="wide"><table id="events" class="data"><caption class="visually-hidden">Logins or admin actions, newest first</caption></table></div>`,
  );
  page(
    '/audit/anomalies',
    'auditor',
    'Anomalies',
    'anomalies',
    `<figure><canvas id="chart" width="900" height="320" role="img" aria-label="Anomalies per hour and kind over the last 7 days" aria-describedby="chart-text"></canvas>
<figcaption id="chart-text">Anomalies per hour and kind over the last 7 days.</figcaption></figure>
<h2>Recent</h2><div class="wide" tabindex="0" role="region" aria-label="Recent anomalies (scrolls sideways)"><table id="recent" class="data"></table></div>`,
  );
}
