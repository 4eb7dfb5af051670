import type pg from 'pg';
import { within } from '../util/deadline.js';
import { LOGIN_LOOKUP_TIMEOUT_MS, type NewToken, type Store, type UserScram } from './store.js';

/** A user's pending move to another salt and count, with the verifiers issued for it so far. */
export interface ScramMove extends UserScram {
  verifiers: Map<string, { storedKey: Buffer; serverKey: Buffer }>;
}

/** What an issue transaction sees of the user, under a row lock on the user. */
export interface IssueState {
  current: UserScram;
  move: UserScram | null;
  /** Live (unrevoked, unexpired) tokens, and how many of them have no verifier for the move. */
  live: number;
  liveWithoutMove: number;
}

/** The decisions an issue applies in the same transaction, and the token it stores. */
export interface IssueWrite {
  /** The user's salt and count become these (and the move, if any, is finished). */
  setCurrent?: UserScram;
  /** Tokens whose move verifier becomes their verifier (the move is complete). */
  promoteMove?: boolean;
  /** Start (or restart, at another count) a move to these. */
  startMove?: UserScram;
  dropMove?: boolean;
  token: NewToken;
  moveVerifier?: { storedKey: Buffer; serverKey: Buffer };
}

/** SQL behind SCRAM iteration-count moves (migration 006). */
export class ScramMoves {
  constructor(private readonly store: Store) {}

  /** The user's pending move, if any: one extra lookup per SCRAM login, in parallel with the credentials. */
  async lookup(username: string): Promise<ScramMove | null> {
    const { rows } = await within(
      this.store.loginSql.query<{
        salt: Buffer;
        iterations: number;
        jti: string | null;
        stored_key: Buffer | null;
        server_key: Buffer | null;
      }>(
        `select m.salt, m.iterations, v.jti, v.stored_key, v.server_key
           from scram_moves m
           left join tokens t on t.username = m.username
           left join scram_move_verifiers v on v.jti = t.jti
          where m.username = $1`,
        [username],
      ),
      LOGIN_LOOKUP_TIMEOUT_MS,
      'control plane credential lookup',
    );
    const first = rows[0];
    if (!first) return null;
    const verifiers = new Map<string, { storedKey: Buffer; serverKey: Buffer }>();
    for (const r of rows)
      if (r.jti && r.stored_key && r.server_key)
        verifiers.set(r.jti, { storedKey: r.stored_key, serverKey: r.server_key });
    return { salt: first.salt, iterations: first.iterations, verifiers };
  }

  /**
   * Issues one token in a transaction that holds the user's row: decide(state) sees the user's
   * salt, count, move and live tokens, and returns what to write.
   */
  async issue(username: string, fresh: UserScram, decide: (state: IssueState) => IssueWrite): Promise<void> {
    const client = await this.store.sql.connect();
    try {
      await client.query('begin');
      await client.query(
        'insert into users (name, scram_salt, scram_iterations) values ($1, $2, $3) on conflict (name) do nothing',
        [username, fresh.salt, fresh.iterations],
      );
      const user = (
        await client.query<{ scram_salt: Buffer; scram_iterations: number }>(
          'select scram_salt, scram_iterations from users where name = $1 for update',
          [username],
        )
      ).rows[0]!;
      const move = (
        await client.query<{ salt: Buffer; iterations: number }>(
          'select salt, iterations from scram_moves where username = $1',
          [username],
        )
      ).rows[0];
      const counts = (
        await client.query<{ live: number; without_move: number }>(
          `select count(*)::int as live, count(*) filter (where v.jti is null)::int as without_move
             from tokens t left join scram_move_verifiers v on v.jti = t.jti
            where t.username = $1 and t.revoked_at is null and t.expires_at > now()`,
          [username],
        )
      ).rows[0]!;
      const write = decide({
        current: { salt: user.scram_salt, iterations: user.scram_iterations },
        move: move ? { salt: move.salt, iterations: move.iterations } : null,
        live: counts.live,
        liveWithoutMove: counts.without_move,
      });
      await apply(client, username, write);
      await client.query('commit');
    } catch (err) {
      await client.query('rollback').catch(() => undefined);
      throw err;
    } finally {
      client.release();
    }
  }
}

async function apply(client: pg.PoolClient, username: string, w: IssueWrite): Promise<void> {
  const userTokens = 'select jti from tokens where username = $1';
  if (w.promoteMove) {
    await client.query(
      `update tokens t set stored_key = v.stored_key, server_key = v.server_key
         from scram_move_verifiers v where v.jti = t.jti and t.username = $1`,
      [username],
    );
  }
  if (w.promoteMove || w.dropMove || w.startMove) {
    await client.query(`delete from scram_move_verifiers where jti in (${userTokens})`, [username]);
    await client.query('delete from scram_moves where username = $1', [username]);
  }
  if (w.setCurrent) {
    await client.query('update users set scram_salt = $2, scram_iterations = $3 where name = $1', [
      username,
      w.setCurrent.salt,
      w.setCurrent.iterations,
    ]);
  }
  if (w.startMove) {
    await client.query('insert into scram_moves (username, salt, iterations) values ($1, $2, $3)', [
      username,
      w.startMove.salt,
      w.startMove.iterations,
    ]);
  }
  const t = w.token;
  await client.query(
    `insert into tokens (jti, username, groups, expires_at, issued_by, stored_key, server_key)
     values ($1, $2, $3, $4, $5, $6, $7)`,
    [t.jti, t.username, t.groups, t.expiresAt, t.issuedBy, t.storedKey, t.serverKey],
  );
  if (w.moveVerifier) {
    await client.query('insert into scram_move_verifiers (jti, stored_key, server_key) values ($1, $2, $3)', [
      t.jti,
      w.moveVerifier.storedKey,
      w.moveVerifier.serverKey,
    ]);
  }
}
