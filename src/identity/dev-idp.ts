import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type Configuration, type KoaContextWithOIDC } from 'oidc-provider';

export interface DevUser {
  username: string;
  password: string;
  email: string;
  name: string;
  groups: string[];
}

export interface DevIdpOptions {
  host?: string;
  port?: number;
  /** Redirect URIs of the gateway console (its /auth/callback). */
  redirectUris: string[];
  clientId?: string;
  users?: DevUser[];
}

export interface DevIdp {
  issuer: string;
  clientId: string;
  clientSecret: string;
  users: DevUser[];
  close(): Promise<void>;
}

const password = (): string => randomBytes(9).toString('base64url');

export function defaultDevUsers(): DevUser[] {
  return [
    {
      username: 'alice',
      password: password(),
      email: 'alice@example.test',
      name: 'Alice Developer',
      groups: ['developers'],
    },
    { username: 'bob', password: password(), email: 'bob@example.test', name: 'Bob Admin', groups: ['admins'] },
    {
      username: 'carol',
      password: password(),
      email: 'carol@example.test',
      name: 'Carol Auditor',
      groups: ['auditors'],
    },
  ];
}

const escape = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escape(title)}</title>
<style>body{font:16px system-ui,sans-serif;max-width:26rem;margin:4rem auto;color:#222}label{display:block;margin:.8rem 0 .2rem}
input{width:100%;padding:.5rem;font:inherit}button{margin-top:1rem;padding:.6rem 1.2rem;font:inherit}.err{color:#b00}</style>
</head><body><h1>${escape(title)}</h1>${body}</body></html>`;
}

function loginForm(uid: string, error: string | null): string {
  return page(
    'pgward development sign-in',
    `<p>This is the development identity provider started by <code>npm start</code>.</p>
${error ? `<p class="err" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/interaction/${escape(uid)}/login">
<label for="username">Username</label><input id="username" name="username" autocomplete="username" autofocus>
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form>`,
  );
}

async function readForm(req: http.IncomingMessage): Promise<URLSearchParams> {
  let body = '';
  for await (const chunk of req) {
    body += chunk as string;
    if (body.length > 10_000) throw new Error('form too large');
  }
  return new URLSearchParams(body);
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * A real OpenID Provider (oidc-provider) in this process for the embedded default and
 * the tests: code flow with PKCE, JWT access tokens, users with passwords that are
 * actually checked. Production points pgward at Keycloak, Okta, Entra ID or Google.
 */
export async function startDevIdp(opts: DevIdpOptions): Promise<DevIdp> {
  const users = opts.users ?? defaultDevUsers();
  const byName = new Map(users.map((u) => [u.username, u]));
  const clientId = opts.clientId ?? 'pgward-console';
  const clientSecret = randomBytes(24).toString('base64url');
  const { privateKey } = await generateKeyPair('ES256', { extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'dev-idp-1', alg: 'ES256', use: 'sig' };

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  const issuer = `http://${address}:${port}`;

  const config: Configuration = {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: opts.redirectUris,
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        id_token_signed_response_alg: 'ES256',
      },
    ],
    jwks: { keys: [jwk] },
    cookies: { keys: [randomBytes(32).toString('hex')] },
    claims: { openid: ['sub'], profile: ['name', 'preferred_username'], email: ['email'], groups: ['groups'] },
    scopes: ['openid', 'profile', 'email', 'groups'],
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: false } },
    pkce: { required: () => true },
    ttl: {
      Session: 8 * 3600,
      Interaction: 600,
      Grant: 8 * 3600,
      IdToken: 3600,
      AccessToken: 3600,
      AuthorizationCode: 60,
    },
    findAccount: (_ctx: KoaContextWithOIDC, sub: string) => {
      const u = byName.get(sub);
      if (!u) return undefined;
      return {
        accountId: sub,
        claims: () => ({ sub, preferred_username: u.username, name: u.name, email: u.email, groups: u.groups }),
      };
    },
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = page('Sign-in error', `<p>${escape(String(out.error_description ?? out.error ?? 'error'))}</p>`);
    },
  };
  const provider = new Provider(issuer, config);
  provider.proxy = false;
  const oidc = provider.callback();

  server.on('request', (req, res) => {
    void (async () => {
      const m = /^\/interaction\/([\w-]+)(\/login)?$/.exec((req.url ?? '').split('?')[0] ?? '');
      if (!m) return oidc(req, res);
      try {
        const details = await provider.interactionDetails(req, res);
        if (details.prompt.name === 'login') {
          if (req.method === 'POST' && m[2]) {
            const form = await readForm(req);
            const u = byName.get(form.get('username') ?? '');
            // Compare even for unknown users so timing does not reveal who exists.
            const ok =
              sameSecret(form.get('password') ?? '', u?.password ?? randomBytes(9).toString('base64url')) &&
              u !== undefined;
            if (!ok) {
              res
                .writeHead(200, { 'content-type': 'text/html; charset=utf-8' })
                .end(loginForm(details.uid, 'Wrong username or password.'));
              return;
            }
            await provider.interactionFinished(
              req,
              res,
              { login: { accountId: u.username } },
              { mergeWithLastSubmission: false },
            );
            return;
          }
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(loginForm(details.uid, null));
          return;
        }
        // The console is a first-party client: consent is implied, as in a company IdP.
        const { accountId } = details.session ?? {};
        const grant = details.grantId
          ? await provider.Grant.find(details.grantId)
          : new provider.Grant({ accountId: accountId ?? '', clientId: String(details.params['client_id']) });
        if (!grant) throw new Error('grant not found');
        const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[] };
        if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
        if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
        const grantId = await grant.save();
        await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
      } catch (err) {
        res
          .writeHead(400, { 'content-type': 'text/html; charset=utf-8' })
          .end(page('Sign-in error', `<p>${escape((err as Error).message)}</p>`));
      }
    })();
  });

  return {
    issuer,
    clientId,
    clientSecret,
    users,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
