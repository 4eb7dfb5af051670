import { describe, expect, it } from 'vitest';
import type { RelayObserver, StatementVerdict } from '../../src/relay/observer.js';
import { Relay } from '../../src/relay/relay.js';
import { parseFields } from '../../src/protocol/backend-messages.js';
import { FakeSocket, msg, types } from '../harness/socket-pair.js';

/** Statement text as a client in `encoding` sends it. */
const text = (sql: string, encoding: BufferEncoding = 'utf8'): Buffer =>
  Buffer.concat([Buffer.from(sql, encoding), Buffer.from([0])]);
const query = (sql: string, encoding?: BufferEncoding): Buffer => msg('Q', text(sql, encoding));
const parse = (sql: string, encoding?: BufferEncoding): Buffer =>
  msg('P', Buffer.concat([Buffer.from([0]), text(sql, encoding), Buffer.from([0, 0])]));
const bind = (): Buffer => msg('B', Buffer.from([0, 0, 0, 0, 0, 0, 0, 0]));
const execute = (): Buffer => msg('E', Buffer.from([0, 0, 0, 0, 0]));
const sync = (): Buffer => msg('S');
const status = (name: string, value: string): Buffer => msg('S', `${name}\0${value}\0`);
const ready = (): Buffer => msg('Z', 'I');

/** A relay observed by a profile that blocks nothing except what it cannot read; it keeps what it saw. */
function setup() {
  const client = new FakeSocket();
  const upstream = new FakeSocket();
  const seen: Array<string | null> = [];
  const refused: string[] = [];
  const observer: RelayObserver = {
    statement(_kind, sql, _name, _oid, unreadable): StatementVerdict | null {
      seen.push(sql);
      if (unreadable) {
        refused.push(unreadable);
        return { action: 'block', code: '0A000', message: 'statement refused: its text cannot be inspected' };
      }
      return null;
    },
    bind: () => undefined,
    sync: () => undefined,
    ready: () => undefined,
  };
  const relay = new Relay(client.asDuplex, upstream.asDuplex, {
    maxMessageBytes: 1 << 20,
    parameters: [['client_encoding', 'UTF8']],
    observer,
    onEnd: () => undefined,
  });
  relay.start();
  return { client, upstream, seen, refused };
}

describe('G15 hold-back: a statement that cannot be read until the server answers waits for it', () => {
  it('pipelined simple queries: held after a change of client_encoding, then read in the encoding the server reports', () => {
    const s = setup();
    s.client.emit(
      'data',
      Buffer.concat([query("set client_encoding to 'LATIN1'"), query("select 'café'", 'latin1'), query('select 3')]),
    );
    // Only the change went up; the client is held (backpressure) with the rest queued in order.
    expect(s.upstream.bytes.equals(query("set client_encoding to 'LATIN1'"))).toBe(true);
    expect(s.client.paused).toBe(true);
    s.client.emit('data', query('select 4'));
    expect(s.upstream.written.length).toBe(1);
    s.upstream.emit('data', Buffer.concat([status('client_encoding', 'LATIN1'), msg('C', 'SET\0'), ready()]));
    expect(
      s.upstream.bytes.equals(
        Buffer.concat([
          query("set client_encoding to 'LATIN1'"),
          query("select 'café'", 'latin1'),
          query('select 3'),
          query('select 4'),
        ]),
      ),
    ).toBe(true);
    expect(s.seen).toEqual(["set client_encoding to 'LATIN1'", "select 'café'", 'select 3', 'select 4']);
    expect(s.refused).toEqual([]);
    expect(s.client.paused).toBe(false);
    expect(types(s.client.bytes)).toBe('SCZ');
  });

  it('extended protocol: the held Parse and its Bind, Execute and Sync go up in order after the ReadyForQuery', () => {
    const s = setup();
    const change = [parse("select set_config('client_encoding', 'LATIN1', false)"), bind(), execute(), sync()];
    const next = [parse("select 'café'", 'latin1'), bind(), execute(), sync()];
    s.client.emit('data', Buffer.concat([...change, ...next]));
    expect(s.upstream.bytes.equals(Buffer.concat(change))).toBe(true);
    s.upstream.emit(
      'data',
      Buffer.concat([msg('1'), msg('2'), msg('C', 'SELECT 1\0'), status('client_encoding', 'LATIN1'), ready()]),
    );
    expect(s.upstream.bytes.equals(Buffer.concat([...change, ...next]))).toBe(true);
    expect(s.seen.at(-1)).toBe("select 'café'");
    expect(s.refused).toEqual([]);
  });

  it('a change of standard_conforming_strings: the backslash statement waits too', () => {
    const s = setup();
    s.client.emit(
      'data',
      Buffer.concat([query('set standard_conforming_strings to off'), query("select 'a\\'; drop table victim; --'")]),
    );
    expect(s.upstream.written.length).toBe(1);
    s.upstream.emit('data', Buffer.concat([status('standard_conforming_strings', 'off'), msg('C', 'SET\0'), ready()]));
    expect(s.upstream.bytes.toString('latin1')).toContain('drop table victim');
    expect(s.seen.at(-1)).toBe("select 'a\\'; drop table victim; --'");
  });

  it('set_config of a setting named by a plain literal changes nothing of the lexer: nothing waits', () => {
    const s = setup();
    s.client.emit(
      'data',
      Buffer.concat([
        parse("select set_config('app.tenant', 'acme', false)"),
        bind(),
        execute(),
        parse("select 'café'"),
        bind(),
        execute(),
        sync(),
      ]),
    );
    expect(types(s.upstream.bytes)).toBe('PBEPBES');
    expect(s.refused).toEqual([]);
    expect(s.client.paused).toBe(false);
  });

  it('in the same pipeline step (before Sync) as a real change, it cannot be read and is still refused', () => {
    const s = setup();
    s.client.emit(
      'data',
      Buffer.concat([
        parse("select set_config('client_encoding', 'LATIN1', false)"),
        bind(),
        execute(),
        parse("select 'café'", 'latin1'),
        bind(),
        execute(),
        sync(),
      ]),
    );
    expect(s.refused.length).toBe(1);
    expect(s.refused[0]).toMatch(/same pipeline step/);
    // The refused Parse went up replaced by a marker the server rejects; the protocol stays in step.
    expect(types(s.upstream.bytes)).toBe('PBEPBES');
    expect(s.upstream.bytes.toString('latin1')).not.toContain('caf');
  });

  it('a set_config whose setting name is computed may change the encoding: what follows it waits', () => {
    const s = setup();
    s.client.emit(
      'data',
      Buffer.concat([query("select set_config('client_' || 'encoding', 'UTF8', false)"), query("select 'café'")]),
    );
    expect(s.upstream.written.length).toBe(1);
    s.upstream.emit('data', Buffer.concat([msg('C', 'SELECT 1\0'), ready()]));
    expect(s.upstream.bytes.toString('utf8')).toContain("select 'café'");
  });
});

/** A promise the test settles itself. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/**
 * A relay whose observer works out texts longer than 100 characters "elsewhere" (the test
 * settles each one): what the relay holds meanwhile and in what order it lets it go.
 */
function setupPrepared() {
  const client = new FakeSocket();
  const upstream = new FakeSocket();
  const seen: Array<string | null> = [];
  const refused: string[] = [];
  const pending: Array<{ sql: string; done: (why: string | null) => void }> = [];
  const applied: string[] = [];
  const observer: RelayObserver = {
    prepare(sql) {
      if (sql.length <= 100) return null;
      const d = deferred<() => string | null>();
      pending.push({
        sql,
        done: (why) =>
          d.resolve(() => {
            applied.push(sql);
            return why;
          }),
      });
      return d.promise;
    },
    statement(_kind, sql, _name, _oid, unreadable): StatementVerdict | null {
      seen.push(sql);
      if (unreadable) {
        refused.push(unreadable);
        return { action: 'block', code: '0A000', message: 'statement refused: its text cannot be inspected' };
      }
      return null;
    },
    bind: () => undefined,
    sync: () => undefined,
    ready: () => undefined,
  };
  let ended = '';
  const relay = new Relay(client.asDuplex, upstream.asDuplex, {
    maxMessageBytes: 1 << 20,
    parameters: [['client_encoding', 'UTF8']],
    observer,
    onEnd: (reason) => (ended = reason),
  });
  relay.start();
  return { client, upstream, seen, refused, pending, applied, ended: () => ended };
}

const settle = (): Promise<void> => new Promise((r) => setImmediate(r));
const large = `select ${Array.from({ length: 60 }, (_, i) => i).join(', ')}`;

describe('parse budget: a text worked out off the event loop is held, with everything after it', () => {
  it('the large Query and what follows wait; then go up in order, each shown once', async () => {
    const s = setupPrepared();
    const after = [parse('select 2'), bind(), execute(), sync(), query('select 3')];
    s.client.emit('data', Buffer.concat([query('select 1'), query(large), ...after]));
    expect(s.upstream.bytes.equals(query('select 1'))).toBe(true);
    expect(s.client.paused).toBe(true);
    expect(s.pending.map((p) => p.sql)).toEqual([large]);
    // The server answering earlier statements releases nothing while the text is worked out.
    s.upstream.emit('data', Buffer.concat([msg('C', 'SELECT 1\0'), ready()]));
    expect(s.upstream.written.length).toBe(1);
    s.pending[0]!.done(null);
    await settle();
    expect(s.upstream.bytes.equals(Buffer.concat([query('select 1'), query(large), ...after]))).toBe(true);
    expect(s.seen).toEqual(['select 1', large, 'select 2', 'select 3']);
    expect(s.applied).toEqual([large]);
    expect(s.client.paused).toBe(false);
  });

  it('a large Query that came in several reads goes up byte for byte', async () => {
    const s = setupPrepared();
    const frame = query(large);
    s.client.emit('data', frame.subarray(0, 3));
    s.client.emit('data', frame.subarray(3, 100));
    s.client.emit('data', Buffer.concat([frame.subarray(100), query('select 2')]));
    expect(s.pending.length).toBe(1);
    s.pending[0]!.done(null);
    await settle();
    expect(s.upstream.bytes.equals(Buffer.concat([frame, query('select 2')]))).toBe(true);
  });

  it('two large statements in a row: each is worked out in turn', async () => {
    const s = setupPrepared();
    const second = large.replace('select', 'select 99,');
    s.client.emit('data', Buffer.concat([query(large), query(second), query('select 3')]));
    expect(s.pending.length).toBe(1);
    s.pending[0]!.done(null);
    await settle();
    expect(s.upstream.bytes.equals(query(large))).toBe(true);
    expect(s.pending.length).toBe(2);
    s.pending[1]!.done(null);
    await settle();
    expect(s.upstream.bytes.equals(Buffer.concat([query(large), query(second), query('select 3')]))).toBe(true);
  });

  it('a text that could not be worked out is refused as uninspectable; the session goes on', async () => {
    const s = setupPrepared();
    s.client.emit('data', Buffer.concat([parse(large), bind(), execute(), sync(), query('select 3')]));
    s.pending[0]!.done('pgward could not classify this statement within 30 s');
    await settle();
    expect(s.refused).toEqual(['pgward could not classify this statement within 30 s']);
    // Replaced by a marker the server rejects: nothing of the text goes up, the protocol stays in step.
    expect(types(s.upstream.bytes)).toBe('PBESQ');
    expect(s.upstream.bytes.toString('latin1')).not.toContain('select 0, 1');
    expect(s.upstream.bytes.toString('latin1')).toContain('select 3');
  });

  it('a client that leaves while its text is worked out: nothing is handed in afterwards', async () => {
    const s = setupPrepared();
    s.client.emit('data', query(large));
    s.client.emit('close');
    expect(s.ended()).toBe('client-closed');
    s.pending[0]!.done(null);
    await settle();
    expect(s.applied).toEqual([]);
    expect(s.upstream.written.length).toBe(0);
  });

  it('a large text held behind a change of client_encoding is read in the new encoding, then worked out', async () => {
    const s = setupPrepared();
    const latin = `${large}, 'café'`;
    s.client.emit('data', Buffer.concat([query("set client_encoding to 'LATIN1'"), query(latin, 'latin1')]));
    expect(s.pending.length).toBe(0);
    s.upstream.emit('data', Buffer.concat([status('client_encoding', 'LATIN1'), msg('C', 'SET\0'), ready()]));
    expect(s.pending.map((p) => p.sql)).toEqual([latin]);
    s.pending[0]!.done(null);
    await settle();
    expect(s.seen.at(-1)).toBe(latin);
    expect(s.upstream.bytes.subarray(-query(latin, 'latin1').length).equals(query(latin, 'latin1'))).toBe(true);
  });
});

describe('limits.maxMessageBytes: what the gateway holds whole', () => {
  function small(maxMessageBytes: number) {
    const client = new FakeSocket();
    const upstream = new FakeSocket();
    let ended = '';
    const relay = new Relay(client.asDuplex, upstream.asDuplex, {
      maxMessageBytes,
      observer: { statement: () => null, bind: () => undefined, sync: () => undefined, ready: () => undefined },
      onEnd: (reason) => (ended = reason),
    });
    relay.start();
    return { client, upstream, ended: () => ended };
  }

  it('a client message over it gets FATAL 54000 saying so (Postgres would have taken it), before anything goes up', () => {
    const s = small(4096);
    // Only the header and a little of the body have arrived: the length word is enough.
    s.client.emit('data', query(`select '${'x'.repeat(5000)}'`).subarray(0, 100));
    const fatal = parseFields(s.client.bytes.subarray(5));
    expect(fatal).toMatchObject({ severity: 'FATAL', code: '54000' });
    expect(fatal.message).toBe("pgward: message of 5010 bytes is over the gateway's limit of 4092 bytes");
    expect(s.ended()).toBe('client-protocol-violation');
    expect(s.upstream.written.length).toBe(0);
  });

  it('a length Postgres itself cannot take still closes without a word, as Postgres does', () => {
    const s = small(4096);
    s.client.emit('data', Buffer.from([0x51, 0x40, 0, 0, 0]));
    expect(s.client.written.length).toBe(0);
    expect(s.ended()).toBe('client-protocol-violation');
  });

  it("the server's rows stream through whatever their size: only Postgres's own limit applies", () => {
    const s = small(4096);
    s.client.emit('data', query('select big from t'));
    const row = msg('D', Buffer.concat([Buffer.from([0, 1, 0, 0, 0x4e, 0x20]), Buffer.alloc(20_000, 0x61)]));
    s.upstream.emit('data', Buffer.concat([row, msg('C', 'SELECT 1\0'), ready()]));
    expect(types(s.client.bytes)).toBe('DCZ');
    expect(s.ended()).toBe('');
  });
});

describe('parse budget on a pooled session: the placeholder check of a held text', () => {
  it('a large text that defines a placeholder setting keeps its backend out of the pool', async () => {
    const client = new FakeSocket();
    const upstream = new FakeSocket();
    let reusable: boolean | undefined;
    let done!: () => void;
    const observer: RelayObserver = {
      prepare: (sql) => (sql.length > 100 ? new Promise((resolve) => (done = () => resolve(() => null))) : null),
      statement: () => null,
      bind: () => undefined,
      sync: () => undefined,
      ready: () => undefined,
    };
    const relay = new Relay(client.asDuplex, upstream.asDuplex, {
      maxMessageBytes: 1 << 20,
      observer,
      keepUpstream: true,
      onEnd: (_reason, _detail, r) => (reusable = r),
    });
    relay.start();
    client.emit('data', query(`${large}; set app.tenant = 'acme'`));
    await settle(); // the placeholder check runs while the text is worked out
    done();
    await settle();
    upstream.emit('data', Buffer.concat([msg('C', 'SELECT 1\0'), msg('C', 'SET\0'), ready()]));
    client.emit('data', msg('X'));
    expect(reusable).toBe(false);
  });
});
