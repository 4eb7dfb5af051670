import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSchema, type OidcConfig } from '../../src/config/schema.js';
import { startDevIdp, type DevIdp } from '../../src/identity/dev-idp.js';
import { OidcSso } from '../../src/identity/oidc-sso.js';
import { launchChromium } from '../harness/browser.js';

/** The console's redirect URI: a listener that keeps the URL the browser is sent back to. */
let CALLBACK = '';
let callbackServer: Server;
let callback: string | null = null;

let idp: DevIdp;
let browser: Browser;
let wrongIssuer: Server;
/** Another address for the IdP, as a container network's name is: it forwards to the IdP. */
let alias: Server;

/** The oidc section as a user writes it, with the gateway's defaults filled in. */
function oidcConfig(extra: Partial<OidcConfig>): OidcConfig {
  const config = configSchema.parse({
    oidc: {
      issuer: idp.issuer,
      clientId: idp.clientId,
      clientSecret: idp.clientSecret,
      allowInsecureIssuer: true,
      ...extra,
    },
  });
  return config.oidc!;
}

beforeAll(async () => {
  callbackServer = createServer((req, res) => {
    // Only the redirect itself (Chromium asks for /favicon.ico too).
    if (req.url?.startsWith('/auth/callback')) callback = new URL(req.url, CALLBACK).href;
    res.end('signed in');
  });
  await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
  CALLBACK = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/auth/callback`;
  idp = await startDevIdp({ redirectUris: [CALLBACK] });
  browser = await launchChromium();
  wrongIssuer = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ issuer: 'http://keycloak:8080/realms/pgward', authorization_endpoint: 'http://x/auth' }));
  });
  await new Promise<void>((resolve) => wrongIssuer.listen(0, '127.0.0.1', resolve));
  alias = createServer((req, res) => {
    void fetch(new URL(req.url ?? '/', idp.issuer)).then(async (r) => {
      res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/json' });
      res.end(Buffer.from(await r.arrayBuffer()));
    });
  });
  await new Promise<void>((resolve) => alias.listen(0, '127.0.0.1', resolve));
});
afterAll(async () => {
  await browser?.close();
  await idp?.close();
  await new Promise((resolve) => wrongIssuer?.close(resolve));
  await new Promise((resolve) => alias?.close(resolve));
  await new Promise((resolve) => callbackServer?.close(resolve));
});

describe('oidc.discoveryUrl: the issuer as browsers see it, the document from where the gateway can reach it', () => {
  it('a whole sign-in works when the discovery document is read from another host name', async () => {
    // The browser and the tokens know the issuer by its own address; the gateway reads the
    // document through another, as a container reads http://keycloak:8080 while browsers use localhost:8080.
    const { port } = alias.address() as AddressInfo;
    const discoveryUrl = `http://127.0.0.1:${port}/.well-known/openid-configuration`;
    expect(discoveryUrl.startsWith(idp.issuer)).toBe(false);
    const sso = await OidcSso.discover(oidcConfig({ discoveryUrl }), CALLBACK);
    const { url, pending } = await sso.start('/');

    const page = await browser.newPage();
    const alice = idp.users.find((u) => u.username === 'alice')!;
    await page.goto(url.href);
    await page.fill('input#username', alice.username);
    await page.fill('input#password', alice.password);
    await Promise.all([page.waitForURL((u) => u.href.startsWith(CALLBACK)), page.click('button[type=submit]')]);
    await page.close();
    expect(callback).not.toBeNull();
    const who = await sso.finish(new URL(callback!), pending);
    expect(who).toMatchObject({ user: 'alice', issuer: idp.issuer, groups: alice.groups });
  });

  it('a document naming another issuer is refused with both names and the fix', async () => {
    const { port } = wrongIssuer.address() as AddressInfo;
    await expect(
      OidcSso.discover(
        oidcConfig({ discoveryUrl: `http://127.0.0.1:${port}/.well-known/openid-configuration` }),
        CALLBACK,
      ),
    ).rejects.toThrow(
      `names issuer http://keycloak:8080/realms/pgward, not oidc.issuer ${idp.issuer}; set oidc.issuer to the issuer as browsers reach it`,
    );
  });

  it('an unreachable discovery URL says which URL could not be read', async () => {
    await expect(
      OidcSso.discover(
        oidcConfig({ discoveryUrl: 'http://127.0.0.1:8999/.well-known/openid-configuration' }),
        CALLBACK,
      ),
    ).rejects.toThrow('cannot read the discovery document at http://127.0.0.1:8999/.well-known/openid-configuration');
  });

  it('a plain-http discovery URL needs allowInsecureIssuer', async () => {
    await expect(
      OidcSso.discover(
        oidcConfig({ discoveryUrl: `${idp.issuer}/.well-known/openid-configuration`, allowInsecureIssuer: false }),
        CALLBACK,
      ),
    ).rejects.toThrow('is not https');
  });
});
