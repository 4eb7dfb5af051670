import type { Risk } from '../policy/profiles.js';
import { builtinFunctionName } from './function-oids.js';
import { functionRisks, functionWrites, READ_ONLY_SETTINGS } from './function-names.js';

/**
 * A FunctionCall protocol message ('F'): a function called by OID with its arguments, no SQL
 * text. libpq's large-object API uses it (lo_open, loread, ...); anything else sending it is
 * rare, and it reaches set_config or pg_terminate_backend as well as SQL does.
 */
export interface FunctionCall {
  oid: number;
  /** The built-in function's name on this upstream, or null when pgward cannot name it. */
  name: string | null;
  /** Arguments as text (text-typed ones read the same in binary format), null for SQL NULL; absent when unreadable. */
  args: Array<string | null> | null;
}

/**
 * Reads the body of a FunctionCall: Int32 oid, Int16 format count and codes, Int16 argument
 * count, each argument as Int32 length (-1 for NULL) and bytes, Int16 result format.
 */
export function readFunctionCall(body: Buffer | undefined, oid: number, major?: number): FunctionCall {
  const name = builtinFunctionName(oid, major);
  if (!body) return { oid, name, args: null };
  try {
    let p = 4;
    const nFormats = body.readUInt16BE(p);
    p += 2 + nFormats * 2;
    const n = body.readUInt16BE(p);
    p += 2;
    const args: Array<string | null> = [];
    for (let i = 0; i < n; i++) {
      const len = body.readInt32BE(p);
      p += 4;
      if (len < 0) {
        args.push(null);
        continue;
      }
      if (p + len > body.length) return { oid, name, args: null };
      args.push(body.toString('utf8', p, p + len));
      p += len;
    }
    return { oid, name, args };
  } catch {
    return { oid, name, args: null };
  }
}

export interface FunctionCallVerdict {
  normalized: string;
  risks: Risk[];
  writes: boolean;
  /** Why a read-only session refuses it, or null. */
  readOnly: string | null;
}

/**
 * What a FunctionCall does, by the function it names. For read-only sessions: set_config is
 * refused whatever its arguments (nothing a read-only client needs goes that way, and
 * transaction_read_only or default_transaction_read_only may be among them), and so is a
 * function pgward cannot name (a user's or an extension's, such as dblink's).
 */
export function judgeFunctionCall(call: FunctionCall): FunctionCallVerdict {
  const { name, args } = call;
  const normalized = `FunctionCall ${name ?? 'unknown function'} (oid ${call.oid})`;
  if (name === null) return { normalized, risks: ['function-call-message'], writes: false, readOnly: 'a FunctionCall' };
  const risks: Risk[] = ['function-call-message', ...functionRisks(name, args?.length ?? 0)];
  let readOnly: string | null = null;
  if (name === 'set_config') {
    const setting = args?.[0]?.toLowerCase() ?? null;
    if (setting === 'role') risks.push('set-role');
    if (setting === 'session_authorization') risks.push('set-session-authorization');
    readOnly =
      setting !== null && READ_ONLY_SETTINGS.has(setting)
        ? 'set_config() on read-only settings'
        : 'set_config() by FunctionCall';
  } else if (risks.includes('dynamic-sql')) readOnly = 'a function that runs SQL text';
  return { normalized, risks, writes: functionWrites(name), readOnly };
}
