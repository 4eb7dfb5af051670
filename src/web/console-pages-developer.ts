import type { AddPage } from './page-adder.js';
import { dashboardPages } from './console-pages-dashboard.js';

const CSS = '<link rel="stylesheet" href="/static/console/insight.css">';

/** The developer's own pages (and the dashboard, which every signed-in person may open). */
export function developerPages(page: AddPage): void {
  page(
    '/me',
    'developer',
    'My activity',
    'me',
    `${CSS}
<h2 id="reach-title">What I can reach now</h2>
<p id="reach-note" class="hint"></p>
<div class="wide" tabindex="0" role="region" aria-labelledby="reach-title"><table id="my-reach" class="data" aria-labelledby="reach-title"></table></div>
<p class="hint">The password is your token: copy it from the <a href="/">Connect</a> page, or run <code>pgward login</code>.</p>
<h2 id="sessions-title">My sessions</h2>
<div class="wide" tabindex="0" role="region" aria-labelledby="sessions-title"><table id="my-sessions" class="data" aria-labelledby="sessions-title"></table></div>
<h2 id="tokens-title">My tokens</h2>
<table id="my-tokens" class="data" aria-labelledby="tokens-title"></table>`,
  );
  page(
    '/me/session',
    'developer',
    'My session',
    'me-session',
    `${CSS}<p><a href="/me">Back to my activity</a></p><div id="session"></div>
<div class="wide" tabindex="0" role="region" aria-label="The session's events (scrolls sideways)"><table id="timeline" class="data" aria-label="What happened in the session, in order"></table></div>`,
  );
  dashboardPages(page);
}
