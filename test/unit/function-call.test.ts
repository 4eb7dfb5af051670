import { describe, expect, it } from 'vitest';
import { judgeFunctionCall, readFunctionCall } from '../../src/detect/function-call.js';
import { builtinFunctionName } from '../../src/detect/function-oids.js';

describe('built-in functions by OID', () => {
  it.each([
    [2078, 'set_config'],
    [2096, 'pg_terminate_backend'],
    [2171, 'pg_cancel_backend'],
    [952, 'lo_open'],
    [954, 'loread'],
    [764, 'lo_import'],
    [2924, 'query_to_xml'],
    [2624, 'pg_read_file'],
    [3036, 'pg_notify'],
  ])('%i is %s', (oid, name) => expect(builtinFunctionName(oid, 15)).toBe(name));

  it('names an OID as the upstream major does where a later major reused it', () => {
    expect(builtinFunctionName(4100, 15)).toBe('pg_read_file_old');
    expect(builtinFunctionName(4100, 18)).toBe('pg_get_shmem_allocations_numa');
    expect(builtinFunctionName(2172, 14)).toBe('pg_start_backup');
  });

  it("cannot name initdb's or users' functions", () => {
    expect(builtinFunctionName(12_325, 15)).toBeNull();
    expect(builtinFunctionName(16_384, 15)).toBeNull();
  });
});

describe('FunctionCall bodies', () => {
  it('reads text arguments whatever their format code (text-typed values are text in binary too)', () => {
    const args = ['default_transaction_read_only', 'off'];
    const parts = [Buffer.alloc(4), Buffer.from([0, 1, 0, 1, 0, 3])];
    parts[0]!.writeUInt32BE(2078);
    for (const a of args) {
      const len = Buffer.alloc(4);
      len.writeInt32BE(a.length);
      parts.push(len, Buffer.from(a));
    }
    parts.push(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0]));
    const call = readFunctionCall(Buffer.concat(parts), 2078, 15);
    expect(call.args?.slice(0, 2)).toEqual(args);
    expect(judgeFunctionCall(call).readOnly).toBe('set_config() on read-only settings');
  });

  it('judges a call it cannot read conservatively', () => {
    expect(readFunctionCall(Buffer.from([0, 0, 8, 30, 0]), 2078).args).toBeNull();
    expect(judgeFunctionCall({ oid: 2078, name: 'set_config', args: null }).readOnly).toBe(
      'set_config() by FunctionCall',
    );
    expect(judgeFunctionCall({ oid: 2924, name: 'query_to_xml', args: ['select 1', 't', 'f', ''] })).toMatchObject({
      risks: ['function-call-message', 'dynamic-sql'],
      readOnly: 'a function that runs SQL text',
    });
    expect(judgeFunctionCall({ oid: 955, name: 'lowrite', args: ['0', 'x'] }).writes).toBe(true);
  });
});
