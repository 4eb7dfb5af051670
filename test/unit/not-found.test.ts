import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerNotFoundPage } from '../../src/web/not-found.js';

const app = Fastify();
beforeAll(async () => {
  registerNotFoundPage(app);
  app.get('/api/known', async () => ({ ok: true }));
  await app.ready();
});
afterAll(() => app.close());

const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8';

describe('a path no route serves', () => {
  it('a browser gets a console page: a title, what happened, the way back', async () => {
    const r = await app.inject({ url: '/admin/polcy?x=1', headers: { accept: BROWSER } });
    expect(r.statusCode).toBe(404);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.body).toMatch(/^<!doctype html>/);
    expect(r.body).toContain('<h1>Page not found</h1>');
    expect(r.body).toContain('<a href="/">');
    expect(r.body).not.toContain('polcy');
  });

  it('the API answers JSON, even to a browser', async () => {
    const r = await app.inject({ url: '/api/nothing-here', headers: { accept: BROWSER } });
    expect(r.statusCode).toBe(404);
    expect(r.json()).toEqual({ message: 'Route GET:/api/nothing-here not found', error: 'Not Found', statusCode: 404 });
  });

  it('fetch, curl and other clients that do not ask for HTML get JSON', async () => {
    for (const accept of ['application/json', '*/*', undefined]) {
      const r = await app.inject({ url: '/nope', headers: accept ? { accept } : {} });
      expect(r.statusCode).toBe(404);
      expect(r.headers['content-type']).toMatch(/^application\/json/);
    }
    const post = await app.inject({ method: 'POST', url: '/nope', headers: { accept: BROWSER } });
    expect(post.headers['content-type']).toMatch(/^application\/json/);
  });
});

describe('the 404 page for a signed-in person', () => {
  const page = async (viewer: Parameters<typeof registerNotFoundPage>[1]) => {
    const a = Fastify();
    registerNotFoundPage(a, viewer);
    await a.ready();
    const r = await a.inject({ url: '/nowhere', headers: { accept: BROWSER } });
    await a.close();
    return r;
  };

  it('carries their header: name, nav for their roles, sign-out', async () => {
    const r = await page(async () => ({ user: 'bob', csrf: 'c', roles: new Set(['developer', 'admin']) }));
    expect(r.statusCode).toBe(404);
    expect(r.body).toContain('Signed in as <strong>bob</strong>');
    expect(r.body).toContain('<a href="/admin/policy">Policies</a>');
    expect(r.body).not.toContain('href="/audit"');
  });

  it('a session that cannot be read still answers the 404 page, without a header', async () => {
    const r = await page(async () => {
      throw new Error('store down');
    });
    expect(r.statusCode).toBe(404);
    expect(r.body).toContain('<h1>Page not found</h1>');
    expect(r.body).not.toContain('Signed in as');
  });
});
