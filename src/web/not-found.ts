import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { layout } from './html.js';

/** The person behind a request, for the page's header (their name, sign-out and nav); null when signed out. */
export type NotFoundViewer = (
  req: FastifyRequest,
) => Promise<{ user: string; csrf: string; roles: ReadonlySet<string> } | null>;

/** A browser asks for pages with Accept: text/html; fetch(), curl and API clients do not. */
function wantsHtml(req: FastifyRequest): boolean {
  const accept = req.headers.accept ?? '';
  return (req.method === 'GET' || req.method === 'HEAD') && /\btext\/html\b/.test(accept);
}

/**
 * Answers a path no route serves: a console page for a browser (a title, what happened, a way
 * back, and the nav when signed in), and the JSON Fastify answers by default for the API and
 * for other clients, which read the body as data. The path is not echoed into the page.
 */
export function registerNotFoundPage(app: FastifyInstance, viewer?: NotFoundViewer): void {
  app.setNotFoundHandler(async (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split('?')[0] ?? '';
    if (path === '/api' || path.startsWith('/api/') || !wantsHtml(req))
      return reply
        .code(404)
        .send({ message: `Route ${req.method}:${path} not found`, error: 'Not Found', statusCode: 404 });
    // A store that cannot be read must not turn a 404 into a 500: the page then shows no header.
    const who = viewer ? await viewer(req).catch(() => null) : null;
    return reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(
        layout(
          'Page not found',
          `<p>There is no page at this address. It may have moved, or the link may be mistyped.</p>
<p><a href="/">Go to the console's start page</a></p>`,
          who ? { user: who.user, csrf: who.csrf, roles: who.roles } : {},
        ),
      );
  });
}
