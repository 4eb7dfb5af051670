import type { AddPage } from './console-pages.js';

/** The developer's own pages. */
export function developerPages(page: AddPage): void {
  page(
    '/me',
    'developer',
    'My activity',
    'me',
    `<h2>My sessions</h2><table id="my-sessions" class="data"></table><h2>My tokens</h2><table id="my-tokens" class="data"></table>`,
  );
}
