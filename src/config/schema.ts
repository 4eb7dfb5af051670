import { z } from 'zod';
import { MIN_SCRAM_ITERATIONS } from '../auth/scram-primitives.js';

const tlsMode = z.enum(['verify-full', 'verify-ca', 'require', 'disable']);

export const targetSchema = z
  .object({
    host: z.string().min(1),
    port: z.number().int().min(1).max(65535).default(5432),
    database: z.string().min(1),
    /** The upstream role the gateway logs in as unless a grant names another; secrets live in the vault. */
    role: z.string().min(1),
    /** Other databases on this server clients may name (globs); the target's name means `database`. */
    databases: z.array(z.string().min(1)).default([]),
    tls: z
      .object({
        mode: tlsMode.default('verify-full'),
        /** 'direct' (Postgres 17+) skips the SSLRequest round trip, like libpq's sslnegotiation=direct. */
        negotiation: z.enum(['postgres', 'direct']).default('postgres'),
        caFile: z.string().optional(),
        serverName: z.string().optional(),
      })
      .strict()
      .default({ mode: 'verify-full', negotiation: 'postgres' }),
    /** Upstream auth methods the gateway will answer (require_auth); others abort the connect. */
    auth: z
      .array(z.enum(['scram-sha-256', 'md5', 'password']))
      .min(1)
      .default(['scram-sha-256']),
    connectTimeoutMs: z.number().int().positive().default(10_000),
    /**
     * Newest protocol asked of the upstream. 3.2 (Postgres 18) brings 32-byte cancel keys;
     * older servers answer NegotiateProtocolVersion and the session runs as 3.0. Pin 3.0 for
     * middleboxes that cannot negotiate.
     */
    protocol: z.enum(['3.0', '3.2']).default('3.2'),
    /**
     * A login role per person and granted role (`alice:demo_ro`), created on first use by the
     * provisioner and member of the granted role only, its password in the vault: sessions
     * show who runs them, and people cannot read or end each other's backends or change
     * each other's role settings (docs/person-roles.md). Off by default for configured
     * targets: it needs a provisioner with CREATEROLE upstream, and objects people create
     * are then owned by their own role.
     */
    personRoles: z
      .object({
        enabled: z.boolean().default(false),
        /**
         * The upstream role that creates the logins: CREATEROLE, and in Postgres 16+ ADMIN
         * OPTION on each granted role. Its password is the vault entry (target, provisioner).
         */
        provisioner: z.string().min(1).max(63).default('pgward_provisioner'),
      })
      .strict()
      .default({ enabled: false, provisioner: 'pgward_provisioner' }),
    /**
     * Warm upstream connections per (role, database, read-only, startup settings), each
     * opened with the session's startup settings and reset before each reuse (docs/pooling.md).
     */
    pool: z
      .object({
        enabled: z.boolean().default(true),
        /** Kept open and idle for the next client, in a pool whose settings came back at least once. */
        min: z.number().int().min(0).max(1000).default(2),
        /** Idle connections beyond min close after this long; a pool with none handed out closes after it. */
        idleMs: z.number().int().positive().default(300_000),
        /**
         * Most pools (settings combinations) of this target; beyond it the pool longest at rest
         * closes. Bounds the idle connections a target holds: about maxPools x min.
         */
        maxPools: z.number().int().min(1).max(10_000).default(16),
        /** Run before a connection serves another session. */
        reset: z.string().min(1).default('DISCARD ALL'),
        /**
         * When a session gets its upstream connection: at its first message (idle sessions
         * hold none; once the pool knows what the server reports for these settings), or at login.
         */
        assign: z.enum(['first-message', 'login']).default('first-message'),
        /**
         * Most upstream connections of one pool (target, role, database, read-only) at once;
         * sessions beyond it wait in line for one. A pooled connection serves one session for
         * that session's life, so this bounds the concurrent sessions of the pool: set it under
         * the server's max_connections. The default only stops a runaway (the server's own
         * limit, answered as 53300, usually comes first).
         */
        max: z.number().int().min(1).max(10_000).default(500),
        /** How long a session waits in line before it is refused (FATAL 53300). */
        waitTimeoutMs: z.number().int().positive().default(10_000),
      })
      .strict()
      .default({
        enabled: true,
        min: 2,
        idleMs: 300_000,
        maxPools: 16,
        reset: 'DISCARD ALL',
        assign: 'first-message',
        max: 500,
        waitTimeoutMs: 10_000,
      }),
  })
  .strict();

const externalIssuerSchema = z
  .object({
    /** Exact `iss` value; tokens from it are accepted as cleartext passwords (workload identity). */
    issuer: z.string().url(),
    /** Defaults to the issuer's discovery document's jwks_uri. */
    jwksUri: z.string().url().optional(),
    audience: z.string().min(1),
    algorithms: z
      .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'ES256', 'ES384', 'EdDSA']))
      .min(1)
      .default(['RS256', 'ES256']),
    /** Claims that must be present, with exact values when given. */
    requiredClaims: z.record(z.string(), z.string()).default({}),
    usernameClaim: z.string().default('sub'),
    groupsClaim: z.string().default('groups'),
    /**
     * The issuer's groups (groupsClaim) that count here, each with the pgward group or groups
     * it gives; a group not listed gives none, so an issuer cannot name pgward's groups.
     */
    groupMap: z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1))])).default({}),
    /** Only for development issuers on plain http. */
    allowInsecure: z.boolean().default(false),
  })
  .strict()
  .refine((i) => i.allowInsecure || (i.issuer.startsWith('https:') && (i.jwksUri ?? 'https:').startsWith('https:')), {
    message: 'an external issuer and its JWKS must use https (allowInsecure: true only for development)',
  });

const oidcSchema = z
  .object({
    /** The issuer as browsers reach it and as its tokens name it (`iss`). */
    issuer: z.string().url(),
    /**
     * Where the gateway reads the issuer's discovery document when the issuer's own URL does
     * not resolve from the gateway's network (containers: the browser uses localhost:8080, the
     * gateway keycloak:8080). The document must still name `issuer`; its server-side endpoints
     * (token, JWKS, userinfo) must be reachable from the gateway (docs/identity-providers.md).
     */
    discoveryUrl: z.string().url().optional(),
    clientId: z.string().min(1),
    clientSecret: z.string().optional(),
    /** Read the client secret from this environment variable instead of the file. */
    clientSecretEnv: z.string().optional(),
    scopes: z.array(z.string()).default(['openid', 'profile', 'email', 'groups']),
    usernameClaim: z.string().default('preferred_username'),
    emailClaim: z.string().default('email'),
    groupsClaim: z.string().default('groups'),
    /**
     * The provider's groups that count here, each with the pgward group or groups it gives
     * (Entra ID sends group object ids: map each id to a name). Empty: the provider's group
     * names are taken as they are; set: a group not listed gives none.
     */
    groupMap: z.record(z.string(), z.union([z.string().min(1), z.array(z.string().min(1))])).default({}),
    /** Only for a development issuer on plain http (the embedded default's). */
    allowInsecureIssuer: z.boolean().default(false),
  })
  .strict();

export type OidcConfig = z.infer<typeof oidcSchema>;
export type ExternalIssuerConfig = z.infer<typeof externalIssuerSchema>;

/** An IPv4 or IPv6 address, or a CIDR range. */
const ADDRESS_OR_RANGE = /^[0-9a-fA-F:.]+(\/\d{1,3})?$/;
/** What util/duration.ts parses: 90s, 15m, 8h. */
const DURATION = /^\s*\d+(?:\.\d+)?\s*(ms|s|m|h|d|w)\s*$/;

export const configSchema = z
  .object({
    gatewayId: z.string().min(1).default('gw1'),
    listen: z
      .object({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(6432),
        /**
         * Load balancers (addresses or CIDR ranges) that put a PROXY protocol v2 header before
         * each connection; connections from them must carry one, others must not.
         */
        proxyProtocolFrom: z.array(z.string().regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/)).default([]),
      })
      .strict()
      .default({ host: '127.0.0.1', port: 6432, proxyProtocolFrom: [] }),
    tls: z
      .object({
        /** Without certFile/keyFile a development CA and certificate are made in certDir. */
        certFile: z.string().optional(),
        keyFile: z.string().optional(),
        certDir: z.string().default('certs'),
        allowPlaintext: z.boolean().default(false),
        minVersion: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
      })
      .strict()
      .default({ certDir: 'certs', allowPlaintext: false, minVersion: 'TLSv1.2' }),
    auth: z
      .object({
        /** How clients prove their token: SCRAM never sends it; cleartext needs TLS. */
        method: z.enum(['scram-sha-256', 'password']).default('scram-sha-256'),
        /** Users (glob, `*` wildcard) who authenticate with cleartext tokens, e.g. CI jobs. */
        passwordUsers: z.array(z.string()).default([]),
        issuer: z.string().default('pgward'),
        audience: z.string().default('pgward'),
        /**
         * PBKDF2 rounds of new SCRAM verifiers. RFC 7677's minimum is 4,096 and strict clients
         * (pgjdbc on ongres scram 2.x, Bun) refuse fewer; see docs/scram-iterations.md.
         */
        scramIterations: z.number().int().min(1).max(1_000_000).default(MIN_SCRAM_ITERATIONS),
        /** Allows scramIterations below 4,096: strict clients (pgjdbc, Bun) then cannot log in. */
        allowWeakScramIterations: z.boolean().default(false),
        defaultTtl: z.string().default('8h'),
        maxTtl: z.string().default('30d'),
        /** Lifetime caps per group (e.g. admins: 1h); a member of several gets the shortest. */
        groupTtl: z.record(z.string(), z.string()).default({}),
        /**
         * Sign-in links for clients that ask (PGOPTIONS='-c pgward.login=link'): a one-time URL
         * approved in the console (docs/login.md). Everyone else is always asked for a token.
         */
        linkLogin: z.boolean().default(true),
        linkTtl: z.string().default('2m'),
        /** What happens to a live session when its token expires. */
        onTokenExpiry: z.enum(['end', 'allow']).default('end'),
        externalIssuers: z.array(externalIssuerSchema).default([]),
        /** Failed logins per address (refused beyond) and per user (answered ever later beyond). */
        throttle: z
          .object({
            window: z.string().default('1m'),
            perAddress: z.number().int().positive().default(200),
            perUser: z.number().int().positive().default(20),
            maxDelayMs: z.number().int().min(0).default(5_000),
            /** Sign-in links per minute from one address and for the whole gateway; beyond, FATAL 53300. */
            linksPerAddress: z.number().int().positive().default(10),
            linksPerGateway: z.number().int().positive().default(300),
            /** CancelRequests per second from one address; beyond, dropped (as Postgres drops a wrong key). */
            cancelsPerAddress: z.number().int().positive().default(50),
            /** Cancels per second relayed to peer gateways through the store; beyond, dropped. */
            cancelsRelayedPerGateway: z.number().int().positive().default(100),
          })
          .strict()
          .default({
            window: '1m',
            perAddress: 200,
            perUser: 20,
            maxDelayMs: 5_000,
            linksPerAddress: 10,
            linksPerGateway: 300,
            cancelsPerAddress: 50,
            cancelsRelayedPerGateway: 100,
          }),
      })
      .strict()
      .refine((a) => a.allowWeakScramIterations || a.scramIterations >= MIN_SCRAM_ITERATIONS, {
        path: ['scramIterations'],
        message: `must be at least ${MIN_SCRAM_ITERATIONS} (RFC 7677; pgjdbc and other strict clients refuse fewer); set auth.allowWeakScramIterations: true to accept that risk`,
      })
      .default({
        method: 'scram-sha-256',
        passwordUsers: [],
        issuer: 'pgward',
        audience: 'pgward',
        scramIterations: MIN_SCRAM_ITERATIONS,
        allowWeakScramIterations: false,
        defaultTtl: '8h',
        maxTtl: '30d',
        groupTtl: {},
        linkLogin: true,
        linkTtl: '2m',
        onTokenExpiry: 'end',
        externalIssuers: [],
        throttle: {
          window: '1m',
          perAddress: 200,
          perUser: 20,
          maxDelayMs: 5_000,
          linksPerAddress: 10,
          linksPerGateway: 300,
          cancelsPerAddress: 50,
          cancelsRelayedPerGateway: 100,
        },
      }),
    limits: z
      .object({
        startupTimeoutMs: z.number().int().positive().default(60_000),
        /** The largest client message (statement, Bind, CopyData): 64 MiB; docs/limits.md says why. */
        maxMessageBytes: z
          .number()
          .int()
          .min(1024)
          .max(0x3ffffffe)
          .default(64 * 1024 * 1024),
        /**
         * Statement texts longer than this are classified by a worker thread, not on the event
         * loop, so one large statement cannot stall other sessions (docs/limits.md).
         */
        parseBudgetBytes: z
          .number()
          .int()
          .min(1024)
          .default(64 * 1024),
        maxConnections: z.number().int().positive().default(10_000),
        /** On SIGTERM: how long running statements and transactions may finish. */
        shutdownGraceMs: z.number().int().min(0).default(30_000),
        /** A client message begun and then left unfinished this long ends the session (BAD_INPUTS F5). */
        messageStallMs: z.number().int().positive().default(60_000),
      })
      .strict()
      .default({
        startupTimeoutMs: 60_000,
        maxMessageBytes: 64 * 1024 * 1024,
        parseBudgetBytes: 64 * 1024,
        maxConnections: 10_000,
        shutdownGraceMs: 30_000,
        messageStallMs: 60_000,
      }),
    oidc: oidcSchema.optional(),
    web: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(8432),
        /** The URL people's browsers use; links and redirects are built from it. */
        publicUrl: z.string().url().optional(),
        /** What the developer page tells psql to connect to (defaults to the listener). */
        pgHost: z.string().optional(),
        pgPort: z.number().int().optional(),
        /** OIDC groups that make someone an admin or an auditor in the console (everyone signed in is a developer). */
        roles: z
          .object({
            admin: z.array(z.string()).default(['admins']),
            auditor: z.array(z.string()).default(['auditors']),
          })
          .strict()
          .default({ admin: ['admins'], auditor: ['auditors'] }),
        /**
         * How long the groups read from the identity provider at sign-in carry the admin and
         * auditor roles; past it the console sends the person through the provider again.
         */
        rolesMaxAge: z.string().regex(DURATION).default('15m'),
        /**
         * Reverse proxies (addresses or CIDR ranges) whose X-Forwarded-For is believed: the
         * client address (sign-in rate limit, logs, /metrics allowFrom) is the one they name.
         * Empty: the socket's peer is the client, and forwarding headers are ignored.
         */
        trustProxy: z.array(z.string().regex(ADDRESS_OR_RANGE)).default([]),
        /** Who may read /metrics (docs/console.md). */
        metrics: z
          .object({
            /** A bearer token every /metrics request must present (at least 16 characters). */
            token: z.string().min(16).optional(),
            /** Read the token from this environment variable (used when set and non-empty). */
            tokenEnv: z.string().default('PGWARD_METRICS_TOKEN'),
            /** Without a token: the client addresses served (default: loopback only). */
            allowFrom: z.array(z.string().regex(ADDRESS_OR_RANGE)).default(['127.0.0.1', '::1']),
          })
          .strict()
          .default({ tokenEnv: 'PGWARD_METRICS_TOKEN', allowFrom: ['127.0.0.1', '::1'] }),
      })
      .strict()
      .default({
        enabled: true,
        host: '127.0.0.1',
        port: 8432,
        roles: { admin: ['admins'], auditor: ['auditors'] },
        rolesMaxAge: '15m',
        trustProxy: [],
        metrics: { tokenEnv: 'PGWARD_METRICS_TOKEN', allowFrom: ['127.0.0.1', '::1'] },
      }),
    store: z
      .object({
        url: z.string().optional(),
        caFile: z.string().optional(),
        dataDir: z.string().default('.pgward/postgres'),
      })
      .strict()
      .default({ dataDir: '.pgward/postgres' }),
    vault: z
      .object({ keyEnv: z.string().default('PGWARD_VAULT_KEY'), keyFile: z.string().optional() })
      .strict()
      .default({ keyEnv: 'PGWARD_VAULT_KEY' }),
    targets: z.record(z.string().regex(/^[A-Za-z0-9_.-]+$/), targetSchema).default({}),
    detector: z
      .object({
        /** Inspect and record every statement (off: sessions are recorded, statements are not). */
        enabled: z.boolean().default(true),
      })
      .strict()
      .default({ enabled: true }),
    audit: z
      .object({
        /** Session events older than this are deleted (and the deletion recorded); unset keeps everything. */
        retention: z.string().optional(),
        /** Where audit batches wait on disk while the store is unreachable (default .pgward/spool/GATEWAY_ID). */
        spoolDir: z.string().optional(),
        /** Signed checkpoints of every chain head, kept outside the store (docs/audit.md). */
        checkpoint: z
          .object({
            /** The checkpoint log (default SPOOL_DIR/audit-checkpoints.jsonl). */
            file: z.string().optional(),
            /** Each checkpoint is POSTed here too, as JSON {gateway, seq, checkpoint}; in production, storage the store's admins cannot write. */
            webhook: z.string().url().optional(),
            /** How often a checkpoint is signed when something was recorded. */
            interval: z
              .string()
              .regex(/^\d+(ms|s|m|h)$/, 'a duration such as 30s or 5m')
              .default('60s'),
          })
          .strict()
          .default({ interval: '60s' }),
      })
      .strict()
      .default({ checkpoint: { interval: '60s' } }),
    policies: z
      .object({
        /** YAML policy files; edits are stored as versions and applied within a second. Without it, the newest stored version applies. */
        dir: z.string().optional(),
        watch: z.boolean().default(true),
        /**
         * The groups people can have (your identity provider's, after any groupMap). When set,
         * policy checks warn about a group name outside it (a typo grants nobody anything).
         */
        knownGroups: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .default({ watch: true }),
    log: z
      .object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type GatewayConfig = z.infer<typeof configSchema>;
export type TargetConfig = z.infer<typeof targetSchema>;
export type ConfigInput = z.input<typeof configSchema>;
