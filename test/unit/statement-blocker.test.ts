import { describe, expect, it } from 'vitest';
import { errorResponse } from '../../src/protocol/backend-writer.js';
import { Fe } from '../../src/protocol/constants.js';
import { parseFields } from '../../src/protocol/backend-messages.js';
import type { RelayObserver, StatementVerdict } from '../../src/relay/observer.js';
import { mayChangeLexing, StatementBlocker } from '../../src/relay/statement-blocker.js';

/** An observer that blocks statements containing "forbidden", ends on "fatal", and keeps what it saw. */
function observer() {
  const seen: Array<{ kind: string; sql: string | null; name: string; unreadable: string | undefined }> = [];
  const binds: string[] = [];
  const o: RelayObserver = {
    statement(kind, sql, name, _oid, unreadable): StatementVerdict | null {
      seen.push({ kind, sql, name, unreadable });
      if (unreadable) return { action: 'block', code: '0A000', message: unreadable };
      if (sql?.includes('forbidden'))
        return { action: 'block', code: '42501', message: 'not allowed', detail: 'by test' };
      if (sql?.includes('fatal')) return { action: 'end', message: 'bye' };
      return null;
    },
    bind: (statement) => void binds.push(statement),
    sync: () => undefined,
    ready: () => undefined,
  };
  return { o, seen, binds };
}

const queryBody = (sql: string): Buffer => Buffer.from(`${sql}\0`, 'utf8');
const parseBody = (name: string, sql: string): Buffer =>
  Buffer.concat([Buffer.from(`${name}\0${sql}\0`, 'utf8'), Buffer.from([0, 0])]);
const bindBody = (portal: string, statement: string): Buffer =>
  Buffer.concat([Buffer.from(`${portal}\0${statement}\0`), Buffer.from([0, 0, 0, 0, 0, 0])]);
/** The server's syntax error for a replaced statement: it names the marker. */
const syntaxErrorAt = (marker: string): Buffer => {
  const full = errorResponse({ severity: 'ERROR', code: '42601', message: `syntax error at or near "${marker}"` });
  return full.subarray(5);
};
const markerIn = (frame: Buffer): string => /pgward_blocked_[0-9a-f]{16}/.exec(frame.toString('latin1'))![0];

describe('statement blocker', () => {
  it('forwards what the observer allows, untouched', () => {
    const b = new StatementBlocker();
    const { o, seen } = observer();
    expect(b.onClientFrame(Fe.Query, queryBody('select 1'), o)).toBeNull();
    expect(seen).toEqual([{ kind: 'Q', sql: 'select 1', name: '', unreadable: undefined }]);
  });

  it('replaces a blocked Query with a marker the server rejects, and swaps that error for ours', () => {
    const b = new StatementBlocker();
    const { o } = observer();
    const replaced = b.onClientFrame(Fe.Query, queryBody('select forbidden'), o);
    expect(Buffer.isBuffer(replaced)).toBe(true);
    const frame = replaced as Buffer;
    expect(String.fromCharCode(frame[0]!)).toBe('Q');
    // Nothing of the blocked statement goes to the server.
    expect(frame.toString('utf8')).not.toContain('forbidden');
    const { ours, code } = b.onUpstreamError(syntaxErrorAt(markerIn(frame)));
    expect(code).toBe('blocked');
    const fields = parseFields(ours!.subarray(5));
    expect(fields.code).toBe('42501');
    expect(fields.message).toBe('not allowed');
    // Each marker is answered once: the same error again is the server's own.
    expect(b.onUpstreamError(syntaxErrorAt(markerIn(frame))).ours).toBeNull();
  });

  it('keeps the statement name of a blocked Parse, so Bind and Execute fail the same way on the server', () => {
    const b = new StatementBlocker();
    const { o } = observer();
    const replaced = b.onClientFrame(Fe.Parse, parseBody('s1', 'delete from forbidden'), o) as Buffer;
    expect(String.fromCharCode(replaced[0]!)).toBe('P');
    expect(replaced.toString('utf8')).toContain('s1\0pgward_blocked_');
  });

  it("leaves the server's own errors alone", () => {
    const b = new StatementBlocker();
    const { o } = observer();
    b.onClientFrame(Fe.Query, queryBody('select forbidden'), o);
    const other = errorResponse({ severity: 'ERROR', code: '22012', message: 'division by zero' }).subarray(5);
    expect(b.onUpstreamError(other)).toEqual({ ours: null, code: '22012', message: 'division by zero' });
    expect(b.onUpstreamError(Buffer.from('garbage'))).toEqual({ ours: null, code: null, message: null });
  });

  it("'end' when the observer ends the session", () => {
    const b = new StatementBlocker();
    const { o } = observer();
    expect(b.onClientFrame(Fe.Query, queryBody('select fatal'), o)).toBe('end');
  });

  it('passes Bind through, naming the prepared statement to the observer', () => {
    const b = new StatementBlocker();
    const { o, binds } = observer();
    expect(b.onClientFrame(Fe.Bind, bindBody('', 'stmt_7'), o)).toBeNull();
    expect(binds).toEqual(['stmt_7']);
  });

  it('a malformed Query (no terminator) is left for Postgres to answer', () => {
    const b = new StatementBlocker();
    const { o, seen } = observer();
    expect(b.onClientFrame(Fe.Query, Buffer.from('select 1'), o)).toBeNull();
    expect(seen).toEqual([]);
  });

  it('until the server confirms a change of client_encoding, encoding-sensitive text is not trusted', () => {
    const b = new StatementBlocker();
    const { o, seen } = observer();
    // One cycle that changes client_encoding, still in flight...
    expect(b.onClientFrame(Fe.Query, queryBody("set client_encoding to 'SJIS'"), o)).toBeNull();
    // ...so a statement with bytes that read differently in SJIS waits (the relay holds it), unseen.
    expect(b.onClientFrame(Fe.Query, queryBody("select 'caf\u00e9'"), o)).toBe('hold');
    expect(seen.length).toBe(1);
    expect(b.canRelease()).toBe(false);
    // Plain ASCII reads the same either way.
    expect(b.onClientFrame(Fe.Query, queryBody('select 2'), o)).toBeNull();
    // Once the change is answered, the text is trusted again.
    b.onReady();
    expect(b.canRelease()).toBe(true);
    expect(b.onClientFrame(Fe.Query, queryBody("select 'caf\u00e9'"), o)).toBeNull();
  });

  it('a prepared statement that changes settings makes its Binds count as changing too', () => {
    const b = new StatementBlocker();
    const { o, seen } = observer();
    b.onClientFrame(Fe.Parse, parseBody('enc', "select set_config('client_encoding', 'SJIS', false)"), o);
    b.onSync();
    b.onReady();
    b.onClientFrame(Fe.Bind, bindBody('', 'enc'), o);
    b.onClientFrame(Fe.Parse, parseBody('', "select '\u00e9'"), o);
    expect(seen.at(-1)!.unreadable).toMatch(/same pipeline step/);
  });

  it('FunctionCall is shown to the observer by OID and treated as possibly changing settings', () => {
    const b = new StatementBlocker();
    const { o, seen } = observer();
    const body = Buffer.alloc(8);
    body.writeUInt32BE(2078, 0); // set_config's OID
    expect(b.onClientFrame(Fe.FunctionCall, body, o)).toBeNull();
    expect(seen[0]).toMatchObject({ kind: 'F', sql: null });
    expect(b.onClientFrame(Fe.Query, queryBody("select '\u00e9'"), o)).toBe('hold');
  });

  it('which statements may change how text is read', () => {
    const changing = [
      "set client_encoding to 'LATIN1'",
      'SET NAMES latin1',
      'reset all',
      'DISCARD ALL',
      "select set_config('client_encoding', 'LATIN1', false)",
      "select set_config('client_' || 'encoding', 'x', false)",
      "select set_config(E'client\\x5fencoding', 'x', false)",
      'select set_config($1, $2, false)',
      "select set_config/**/('app.x', 'y', false)",
      "select set_config('app.x', 'y', false), set_config(name, 'y', false) from t",
    ];
    const inert = [
      "select set_config('app.tenant', 'acme', false)",
      "insert into t select 1, set_config('app.tenant', 'acme', false)",
      "select pg_catalog.set_config( 'app.x' , 'y', true)",
      'select 1',
    ];
    expect(changing.filter((sql) => !mayChangeLexing(sql))).toEqual([]);
    expect(inert.filter((sql) => mayChangeLexing(sql))).toEqual([]);
  });
});

describe('statement blocker: texts worked out elsewhere (RelayObserver.prepare)', () => {
  function preparing(why: string | null) {
    const { o, seen } = observer();
    const asked: string[] = [];
    let settle!: () => void;
    o.prepare = (sql) => {
      asked.push(sql);
      if (!sql.includes('large')) return null;
      return new Promise((resolve) => (settle = () => resolve(() => why)));
    };
    return { o, seen, asked, settle: () => settle() };
  }

  it('holds the text until it is worked out, then shows it once, as read the first time', async () => {
    const b = new StatementBlocker();
    const p = preparing(null);
    const body = queryBody("select 'large'");
    expect(b.onClientFrame(Fe.Query, body, p.o)).toBe('hold');
    const inspection = b.inspection;
    expect(inspection).not.toBeNull();
    // Asked again before it settles (nothing else is decided meanwhile): still held, not asked twice.
    expect(b.onClientFrame(Fe.Query, body, p.o)).toBe('hold');
    expect(p.asked).toEqual(["select 'large'"]);
    expect(p.seen).toEqual([]);
    p.settle();
    await inspection;
    expect(b.inspection).toBeNull();
    expect(b.onClientFrame(Fe.Query, body, p.o)).toBeNull();
    expect(p.seen).toEqual([{ kind: 'Q', sql: "select 'large'", name: '', unreadable: undefined }]);
    // The next statement is asked about as usual.
    expect(b.onClientFrame(Fe.Query, queryBody('select 1'), p.o)).toBeNull();
    expect(p.asked).toEqual(["select 'large'", 'select 1']);
  });

  it('a text that could not be worked out is shown as unreadable, with why, and so blocked', async () => {
    const b = new StatementBlocker();
    const p = preparing('pgward ran out of memory classifying this statement');
    const body = parseBody('s1', "select 'large'");
    expect(b.onClientFrame(Fe.Parse, body, p.o)).toBe('hold');
    p.settle();
    await b.inspection;
    const replaced = b.onClientFrame(Fe.Parse, body, p.o);
    expect(Buffer.isBuffer(replaced)).toBe(true);
    expect((replaced as Buffer).toString('latin1')).not.toContain('large');
    expect(p.seen).toEqual([
      { kind: 'P', sql: null, name: 's1', unreadable: 'pgward ran out of memory classifying this statement' },
    ]);
  });
});
