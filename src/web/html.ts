/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!,
  );
}

export interface LayoutOptions {
  user?: string | undefined;
  csrf?: string | undefined;
  roles?: ReadonlySet<string> | undefined;
  /** The page's script module (console pages); data for it goes in data-* attributes. */
  page?: string | undefined;
  /** The nav entry to mark as the current page (its href), when neither page nor title names it. */
  current?: string | undefined;
}

/**
 * The nav entry each console page (by its script module) sits under: pages without a link of
 * their own (a session's playback, the event search) mark the entry a person reached them from.
 */
const SECTION: Record<string, string> = {
  me: '/me',
  'me-session': '/me',
  requests: '/requests',
  approvals: '/approvals',
  policy: '/admin/policy',
  live: '/admin/sessions',
  targets: '/admin/targets',
  tokens: '/admin/tokens',
  audit: '/audit',
  timeline: '/audit',
  events: '/audit/events',
  dashboard: '/dashboard',
  anomalies: '/audit/anomalies',
};

/** aria-current tells a screen reader which entry is this page; the stylesheet shows it too. */
const current = (href: string, here: string | undefined): string => (href === here ? ' aria-current="page"' : '');

function nav(roles: ReadonlySet<string> | undefined, title: string, opts: LayoutOptions): string {
  if (!roles) return '';
  const links: Array<[string, string]> = [
    ['/', 'Connect'],
    ['/me', 'My activity'],
    ['/requests', 'Request access'],
  ];
  if (roles.has('admin') || roles.has('auditor')) links.push(['/dashboard', 'Dashboard']);
  if (roles.has('admin'))
    links.push(
      ['/admin/policy', 'Policies'],
      ['/admin/sessions', 'Live sessions'],
      ['/admin/targets', 'Targets'],
      ['/admin/tokens', 'Tokens'],
    );
  if (roles.has('auditor'))
    links.push(['/audit', 'Audit'], ['/audit/events', 'Logins and admin actions'], ['/audit/anomalies', 'Anomalies']);
  // Approvers are named by group in the policy, not by console role: the link and its count of
  // waiting requests appear once /api/access-requests/count says this person approves something.
  // A page with no script of its own (the connect page) is found by its title, which is its link's label.
  const here =
    opts.current ?? (opts.page ? SECTION[opts.page] : undefined) ?? links.find(([, label]) => label === title)?.[0];
  const approvals = `<a href="/approvals" id="nav-approvals"${current('/approvals', here)} hidden>Approvals <span id="approvals-count"></span></a>`;
  return `<nav aria-label="Console">${links.map(([href, label]) => `<a href="${href}"${current(href, here)}>${esc(label)}</a>`).join(' ')} ${approvals}</nav>`;
}

export function layout(title: string, body: string, opts: LayoutOptions = {}): string {
  const signOut =
    opts.user && opts.csrf
      ? `<form method="post" action="/auth/logout" class="signout"><input type="hidden" name="csrf" value="${esc(opts.csrf)}">
<span>Signed in as <strong>${esc(opts.user)}</strong></span> <button type="submit">Sign out</button></form>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
${opts.csrf ? `<meta name="csrf-token" content="${esc(opts.csrf)}">` : ''}
<title>${esc(title)} · pgward</title><link rel="stylesheet" href="/static/app.css"></head>
<body${opts.page ? ` data-page="${esc(opts.page)}"` : ''}><a href="#main" class="skip">Skip to content</a>
<header><a href="/" class="brand">pgward</a>${nav(opts.roles, title, opts)}${signOut}</header><main id="main" tabindex="-1"><h1>${esc(title)}</h1>${body}</main>
${opts.page === 'anomalies' ? '<script src="/static/vendor/chart/chart.umd.min.js"></script>' : ''}
<script src="/static/app.js"></script>${opts.roles ? '<script type="module" src="/static/console/approvals-count.js"></script>' : ''}${opts.page ? `<script type="module" src="/static/console/${esc(opts.page)}.js"></script>` : ''}</body></html>`;
}
