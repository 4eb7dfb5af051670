import { z } from 'zod';

/**
 * Everything gateways tell each other over NOTIFY. One schema, one encoder, one decoder:
 * senders build a Notice and never a payload string, receivers get a checked Notice or
 * nothing. A payload that does not decode (a peer on another version, a hand-typed NOTIFY)
 * is dropped, never half-read.
 */
export const NoticeSchema = z.discriminatedUnion('kind', [
  /** A token was revoked with endSessions: end the sessions it opened. */
  z.object({ kind: z.literal('token-revoked'), jti: z.string().min(1) }),
  /** Every token of a user was revoked with endSessions: end all their sessions. */
  z.object({ kind: z.literal('user-revoked'), user: z.string().min(1) }),
  /** An administrator ended one session, wherever it runs. */
  z.object({ kind: z.literal('session-killed'), session: z.string().min(1), by: z.string() }),
  /**
   * A CancelRequest reached a gateway that does not own the session. keyHash is the hex
   * hash of the cancel key (the key itself never leaves the gateway that received it);
   * `from` is the sending gateway's id, so it ignores its own notice.
   */
  z.object({
    kind: z.literal('cancel'),
    pid: z.number().int(),
    keyHash: z.string().regex(/^[0-9a-f]+$/),
    from: z.string(),
  }),
  /** A new policy version was stored: load it for new connections. */
  z.object({ kind: z.literal('policy-version'), version: z.number().int().positive() }),
  /**
   * A sign-in link was opened in the browser or decided (approved or refused): the gateway
   * holding its connection reads the row once. `link` is the hex SHA-256 of the link's
   * secret, as login_links stores it (the secret itself never travels).
   */
  z.object({
    kind: z.literal('link-changed'),
    link: z.string().regex(/^[0-9a-f]{64}$/),
    state: z.enum(['opened', 'decided']),
  }),
  /**
   * An access request changed (approved, expired, revoked...): gateways reload the temporary
   * grants in force, and end the live sessions of a grant that ended.
   */
  z.object({
    kind: z.literal('access-request'),
    id: z.string().uuid(),
    state: z.enum(['pending', 'approved', 'denied', 'cancelled', 'expired', 'revoked']),
  }),
]);

export type Notice = z.infer<typeof NoticeSchema>;
export type NoticeKind = Notice['kind'];
export type NoticeOf<K extends NoticeKind> = Extract<Notice, { kind: K }>;

/**
 * The LISTEN channel of each kind. Kinds that the same receiver handles share a channel,
 * so a gateway holds few LISTEN connections; receivers still see only the kinds they asked for.
 */
const CHANNELS = {
  'token-revoked': 'pgward_revocations',
  'user-revoked': 'pgward_revocations',
  'session-killed': 'pgward_revocations',
  cancel: 'pgward_cancels',
  'policy-version': 'pgward_policy',
  'link-changed': 'pgward_links',
  'access-request': 'pgward_access',
} as const satisfies Record<NoticeKind, string>;

export function noticeChannel(kind: NoticeKind): string {
  return CHANNELS[kind];
}

/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
const MAX_PAYLOAD_BYTES = 7_999;

export class NoticeTooLargeError extends Error {
  override name = 'NoticeTooLargeError';
}

/** The NOTIFY payload for a notice (validated, so a sender cannot emit what receivers drop). */
export function encodeNotice(notice: Notice): string {
  const payload = JSON.stringify(NoticeSchema.parse(notice));
  if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES)
    throw new NoticeTooLargeError(`${notice.kind} notice over ${MAX_PAYLOAD_BYTES} bytes`);
  return payload;
}

/** The notice in a NOTIFY payload, or null when it is not one. */
export function decodeNotice(payload: string): Notice | null {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return null;
  }
  const parsed = NoticeSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
