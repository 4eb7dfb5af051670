/**
 * The console API, described for clients and reviewers (OpenAPI 3.1). A test checks that
 * every /api route the app registers is described here, and nothing else.
 */
type Op = { summary: string; role: 'signed-in' | 'developer' | 'admin' | 'auditor'; body?: Record<string, unknown>; change?: boolean };

const ops: Record<string, Record<string, Op>> = {
  '/api/me': { get: { summary: 'Who I am: user, groups, roles, CSRF token', role: 'signed-in' } },
  '/api/my/tokens': { get: { summary: 'My tokens (never the token values)', role: 'developer' } },
  '/api/my/sessions': { get: { summary: 'My recent sessions', role: 'developer' } },
  '/api/policy': {
    get: { summary: 'The policy documents in force and their version', role: 'admin' },
    post: { summary: 'Save documents as a new version (validated whole)', role: 'admin', change: true, body: { documents: 'object (file name → YAML)', comment: 'string' } },
  },
  '/api/policy/validate': { post: { summary: 'Validate documents; problems with file, line and column', role: 'admin', change: true, body: { documents: 'object' } } },
  '/api/policy/diff': { post: { summary: 'Unified diff from the version in force', role: 'admin', change: true, body: { documents: 'object' } } },
  '/api/policy/versions': { get: { summary: 'Stored versions with author, time, source and diff', role: 'admin' } },
  '/api/policy/rollback': { post: { summary: 'Put an earlier version back in force (as a new version)', role: 'admin', change: true, body: { version: 'integer' } } },
  '/api/policy/dry-run': { post: { summary: 'The decision a connection would get', role: 'admin', change: true, body: { user: 'string', groups: 'string[]', database: 'string', from: 'ip', at: 'ISO time', method: 'string', params: 'object' } } },
  '/api/policy/who-can-reach': { get: { summary: 'Rules that can apply to a target (?target=)', role: 'admin' } },
  '/api/targets': { get: { summary: 'Targets and which roles have vaulted credentials (rotation dates, never values)', role: 'admin' } },
  '/api/vault': { put: { summary: 'Store a credential (write-only)', role: 'admin', change: true, body: { target: 'string', role: 'string', secret: 'string' } } },
  '/api/sessions/live': { get: { summary: 'Sessions running on any gateway', role: 'admin' } },
  '/api/sessions/{id}/kill': { post: { summary: 'End a live session with a FATAL (any gateway)', role: 'admin', change: true } },
  '/api/tokens': { get: { summary: 'Live tokens (?user=)', role: 'admin' } },
  '/api/tokens/{jti}/revoke': { post: { summary: 'Revoke a token, optionally ending its sessions', role: 'admin', change: true, body: { endSessions: 'boolean' } } },
  '/api/users/{user}/revoke': { post: { summary: 'Revoke every token of a user', role: 'admin', change: true, body: { endSessions: 'boolean' } } },
  '/api/audit/sessions': { get: { summary: 'Search sessions (?user, target, from, to, anomaly, endReason)', role: 'auditor' } },
  '/api/audit/sessions/{id}': { get: { summary: 'A session and its chained events', role: 'auditor' } },
  '/api/audit/anomalies': { get: { summary: 'Anomalies per hour and kind (7 days), and the latest', role: 'auditor' } },
  '/api/audit/exports': { post: { summary: 'Export events with a signed manifest', role: 'auditor', change: true, body: { from: 'ISO time', to: 'ISO time', user: 'string', format: 'jsonl | csv | ocsf' } } },
  '/api/audit/exports/{id}/{part}': { get: { summary: 'Download an export (part = file | manifest)', role: 'auditor' } },
  '/api/openapi.json': { get: { summary: 'This description', role: 'signed-in' } },
};

export function openApiDocument(publicUrl: string): Record<string, unknown> {
  const paths: Record<string, unknown> = {};
  for (const [path, methods] of Object.entries(ops)) {
    paths[path] = Object.fromEntries(
      Object.entries(methods).map(([method, op]) => [
        method,
        {
          summary: op.summary,
          'x-pgward-role': op.role,
          ...(op.change ? { parameters: [{ name: 'x-csrf-token', in: 'header', required: true, schema: { type: 'string' }, description: 'The CSRF token from /api/me' }] } : {}),
          ...(op.body
            ? { requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', properties: Object.fromEntries(Object.entries(op.body).map(([k, v]) => [k, { description: String(v) }])) } } } } }
            : {}),
          responses: {
            '200': { description: 'OK (JSON)' },
            '401': { description: 'Not signed in' },
            '403': { description: `Needs the ${op.role} role${op.change ? ', or the CSRF token is missing' : ''}` },
          },
          security: [{ session: [] }],
        },
      ]),
    );
  }
  return {
    openapi: '3.1.0',
    info: { title: 'pgward console API', version: '1' },
    servers: [{ url: publicUrl }],
    components: { securitySchemes: { session: { type: 'apiKey', in: 'cookie', name: 'pgward_session' } } },
    paths,
  };
}

/** Fastify route paths (":id") as OpenAPI paths ("{id}"). */
export const openApiPath = (url: string): string => url.replace(/:(\w+)/g, '{$1}');
export const describedPaths = (): string[] => Object.entries(ops).flatMap(([p, m]) => Object.keys(m).map((method) => `${method.toUpperCase()} ${p}`));
