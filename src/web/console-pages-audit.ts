import type { AddPage, AddParamPage } from './console-pages.js';
import { esc } from './html.js';

/** The auditor's pages: search and export, a session's timeline, anomalies. */
export function auditPages(page: AddPage, pageWithParam: AddParamPage): void {
  page(
    '/audit',
    'auditor',
    'Audit',
    'audit',
    `<form id="search">
<input name="user" placeholder="user"> <input name="target" placeholder="target">
<input name="from" placeholder="from (ISO time)"> <input name="to" placeholder="to (ISO time)">
<input name="anomaly" placeholder="anomaly kind or *"> <input name="endReason" placeholder="end reason">
<button type="submit">Search</button></form>
<table id="results" class="data"></table>
<h2>Export</h2>
<form id="export"><input name="from" placeholder="from (ISO time)" required> <input name="to" placeholder="to (ISO time)"> <input name="user" placeholder="user">
<select name="format"><option>jsonl</option><option>csv</option><option>ocsf</option></select> <button type="submit">Export</button></form>
<p id="export-status" role="status"></p>`,
  );
  pageWithParam(
    '/audit/sessions/:id',
    'auditor',
    'Session timeline',
    'timeline',
    (params) =>
      `<div id="session" data-id="${esc(params['id'] ?? '')}"></div><table id="timeline" class="data"></table>`,
  );
  page(
    '/audit/anomalies',
    'auditor',
    'Anomalies',
    'anomalies',
    `<canvas id="chart" width="900" height="320"></canvas><h2>Recent</h2><table id="recent" class="data"></table>`,
  );
}
