import { encodeNotice, noticeChannel, type Notice } from './notices.js';
import type { Store } from './store.js';

export interface PolicyVersionRow {
  id: number;
  createdAt: Date;
  author: string;
  source: 'files' | 'console' | 'rollback' | 'cli';
  documents: Record<string, string>;
  digest: string;
  diff: string;
  comment: string | null;
}

type Row = {
  id: string;
  created_at: Date;
  author: string;
  source: PolicyVersionRow['source'];
  documents: Record<string, string>;
  digest: string;
  diff: string;
  comment: string | null;
};

const toVersion = (r: Row): PolicyVersionRow => ({
  id: Number(r.id),
  createdAt: r.created_at,
  author: r.author,
  source: r.source,
  documents: r.documents,
  digest: r.digest,
  diff: r.diff,
  comment: r.comment,
});

export class PolicyQueries {
  constructor(private readonly store: Store) {}

  async latest(): Promise<PolicyVersionRow | null> {
    const { rows } = await this.store.sql.query<Row>('select * from policy_versions order by id desc limit 1');
    return rows[0] ? toVersion(rows[0]) : null;
  }

  async version(id: number): Promise<PolicyVersionRow | null> {
    const { rows } = await this.store.sql.query<Row>('select * from policy_versions where id = $1', [id]);
    return rows[0] ? toVersion(rows[0]) : null;
  }

  async list(limit = 50): Promise<Array<Omit<PolicyVersionRow, 'documents'>>> {
    const { rows } = await this.store.sql.query<Row>(
      'select id, created_at, author, source, digest, diff, comment, null::jsonb as documents from policy_versions order by id desc limit $1',
      [limit],
    );
    return rows.map(toVersion);
  }

  /**
   * Stores a new version unless it equals the one in force, and announces it in the same
   * transaction. Serialized by an advisory lock so two gateways saving the same files make
   * one version, not two.
   */
  async append(v: {
    author: string;
    source: PolicyVersionRow['source'];
    documents: Record<string, string>;
    digest: string;
    diff: (previous: Record<string, string> | null) => string;
    comment?: string | undefined;
  }): Promise<{ id: number; created: boolean }> {
    return this.store.transaction(async (client) => {
      await client.query("select pg_advisory_xact_lock(hashtext('pgward.policy'))");
      const { rows } = await client.query<Row>('select * from policy_versions order by id desc limit 1');
      const prev = rows[0];
      // Same documents, same origin: nothing new. Files equal to a version the console or a
      // rollback made are still recorded, so the version in force says the files feed it.
      const sameOrigin = v.source !== 'files' || prev?.source === 'files';
      if (prev && prev.digest === v.digest && v.source !== 'rollback' && sameOrigin)
        return { id: Number(prev.id), created: false };
      const ins = await client.query<{ id: string }>(
        `insert into policy_versions (author, source, documents, digest, diff, comment)
         values ($1, $2, $3, $4, $5, $6) returning id`,
        [v.author, v.source, JSON.stringify(v.documents), v.digest, v.diff(prev?.documents ?? null), v.comment ?? null],
      );
      const id = Number(ins.rows[0]!.id);
      // Sent inside the transaction: Postgres delivers it only if the version commits.
      const notice: Notice = { kind: 'policy-version', version: id };
      await client.query('select pg_notify($1, $2)', [noticeChannel(notice.kind), encodeNotice(notice)]);
      return { id, created: true };
    });
  }
}
