import type { AddPage } from './page-adder.js';

/**
 * The dashboard: home for admins and auditors. Every signed-in person (a developer at least) may open the page; its
 * data comes from /api/dashboard (admin) or /api/audit/dashboard (auditor), and a developer is
 * pointed to their own page instead.
 */
export function dashboardPages(page: AddPage): void {
  page(
    '/dashboard',
    'developer',
    'Dashboard',
    'dashboard',
    `<link rel="stylesheet" href="/static/console/insight.css">
<form id="window" class="filters"><label for="hours">Period <select id="hours" name="hours">
<option value="6">last 6 hours</option><option value="24" selected>last 24 hours</option>
<option value="168">last 7 days</option><option value="720">last 30 days</option></select></label></form>
<div id="dashboard" aria-live="polite"></div>`,
  );
}
