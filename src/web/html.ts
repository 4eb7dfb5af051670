/** Escapes text for HTML element content and quoted attribute values. */
export function esc(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

export function layout(title: string, body: string, opts: { user?: string | undefined; csrf?: string | undefined } = {}): string {
  const signOut =
    opts.user && opts.csrf
      ? `<form method="post" action="/auth/logout" class="signout"><input type="hidden" name="csrf" value="${esc(opts.csrf)}">
<span>Signed in as <strong>${esc(opts.user)}</strong></span> <button type="submit">Sign out</button></form>`
      : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${esc(title)} · pgward</title><link rel="stylesheet" href="/static/app.css"></head>
<body><header><a href="/" class="brand">pgward</a>${signOut}</header><main><h1>${esc(title)}</h1>${body}</main>
<script src="/static/app.js"></script></body></html>`;
}
