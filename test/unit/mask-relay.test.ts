import { beforeAll, describe, expect, it } from 'vitest';
import { loadSqlParser } from '../../src/detect/sql-parser.js';
import { CatalogueCache } from '../../src/mask/catalogue.js';
import { sessionMasker } from '../../src/mask/session-masking.js';
import { parseFields } from '../../src/protocol/backend-messages.js';
import { maskingSchema } from '../../src/policy/masking-schema.js';
import { Relay } from '../../src/relay/relay.js';
import { FakeSocket, msg } from '../harness/socket-pair.js';

/** The relay's masking hooks over fake sockets: what the client gets, byte for byte. */

class CorkingSocket extends FakeSocket {
  corked = 0;
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    this.corked--;
  }
}

const query = (sql: string): Buffer => msg('Q', `${sql}\0`);
/** RowDescription of one text column with no table (a computed column). */
const rowDescription = (): Buffer => {
  const b = Buffer.alloc(2 + 2 + 18);
  b.writeInt16BE(1, 0);
  b.write('v\0', 2, 'latin1');
  b.writeUInt32BE(25, 4 + 6); // type text
  b.writeInt16BE(-1, 4 + 10);
  return msg('T', b);
};
const dataRow = (value: string): Buffer => {
  const v = Buffer.from(value);
  const b = Buffer.alloc(2 + 4 + v.length);
  b.writeInt16BE(1, 0);
  b.writeInt32BE(v.length, 2);
  v.copy(b, 6);
  return msg('D', b);
};
const done = (): Buffer => Buffer.concat([msg('C', 'SELECT 1\0'), msg('Z', 'I')]);

function setup(masked: boolean) {
  const client = new CorkingSocket();
  const upstream = new FakeSocket();
  const rules = maskingSchema.parse({ values: [{ value: 'email', strategy: 'email-domain' }] });
  const ended: string[] = [];
  const relay = new Relay(client.asDuplex, upstream.asDuplex, {
    maxMessageBytes: 1 << 20,
    masker: sessionMasker(
      masked ? rules : null,
      { target: 't', database: 'd' },
      {
        key: Buffer.from('k'),
        catalogue: () => Promise.reject(new Error('a value-only grant reads no catalogue')),
        cache: new CatalogueCache(),
      },
    ),
    onEnd: (reason, detail) => ended.push(`${reason}: ${detail ?? ''}`),
  });
  relay.start();
  return { client, upstream, ended };
}

beforeAll(() => loadSqlParser());

describe('relay masking hooks', () => {
  it('without masking rules, rows go on as the very bytes read (no copy, no cork)', () => {
    const s = setup(false);
    s.client.emit('data', query("select 'alice@example.com'"));
    const answer = Buffer.concat([rowDescription(), dataRow('alice@example.com'), done()]);
    s.upstream.emit('data', answer);
    expect(s.client.bytes.equals(answer)).toBe(true);
    expect(s.client.written).toHaveLength(1);
  });

  it('masks a recognised value, fixes the row length, and keeps the rest of the read in order', () => {
    const s = setup(true);
    s.client.emit('data', query("select 'alice@example.com'"));
    expect(s.upstream.bytes.equals(query("select 'alice@example.com'"))).toBe(true);
    s.upstream.emit('data', Buffer.concat([rowDescription(), dataRow('alice@example.com'), dataRow('none'), done()]));
    expect(
      s.client.bytes.equals(Buffer.concat([rowDescription(), dataRow('a***@example.com'), dataRow('none'), done()])),
    ).toBe(true);
    expect(s.client.corked).toBe(0);
  });

  it('refuses binary COPY before it runs, and ends the session if one slips through', () => {
    const s = setup(true);
    s.client.emit('data', query('copy (select 1) to stdout (format binary)'));
    // The statement was replaced by one Postgres refuses at once; the client gets pgward's error.
    expect(s.upstream.bytes.toString()).toContain('pgward_blocked_');
    const marker = /pgward_blocked_[0-9a-f]+/.exec(s.upstream.bytes.toString())![0];
    s.upstream.emit(
      'data',
      Buffer.concat([msg('E', `SERROR\0C42601\0Msyntax error at or near "${marker}"\0\0`), msg('Z', 'I')]),
    );
    const err = parseFields(s.client.bytes.subarray(5, s.client.bytes.readUInt32BE(1) + 1));
    expect(err).toMatchObject({
      code: '42501',
      message: 'COPY in binary format cannot be masked: use FORMAT text or csv (data masking)',
    });

    // A binary CopyOutResponse nobody asked for: nothing of it reaches the client, the session ends.
    const before = s.client.bytes.length;
    s.client.emit('data', query('select 1'));
    s.upstream.emit('data', Buffer.concat([msg('H', Buffer.from([1, 0, 1, 0, 1])), msg('d', 'PGCOPY\n\xff\r\n\0')]));
    return new Promise<void>((resolve) =>
      setImmediate(() => {
        const after = s.client.bytes.subarray(before);
        expect(after.includes(Buffer.from('PGCOPY'))).toBe(false);
        expect(s.ended[0]).toContain('binary COPY');
        resolve();
      }),
    );
  });
});
