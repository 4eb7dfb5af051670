import { readFile, stat } from 'node:fs/promises';
import { parseDuration } from '../util/duration.js';
import { CliUsageError, toCliError } from './cli-errors.js';

/**
 * Files and values the user names on the command line, checked where they are read so a
 * mistake is reported as the option it came from ("--jwks keys.json: no such file") and
 * never as a raw ENOENT or a JSON parser's message.
 */

/** The file must exist and be a regular file; `what` names the option or argument. */
export async function requireFile(path: string, what: string, hint?: string): Promise<void> {
  let isFile: boolean;
  try {
    isFile = (await stat(path)).isFile();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new CliUsageError(`${what} ${path}: no such file`, { hint: hint ?? 'check the path', cause: err });
    throw toCliError(err);
  }
  if (!isFile) throw new CliUsageError(`${what} ${path}: not a file`, { hint });
}

/** A text file named on the command line. */
export async function readUserFile(path: string, what: string, hint?: string): Promise<string> {
  await requireFile(path, what, hint);
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw toCliError(err);
  }
}

/** JSON text from a file or URL named on the command line; an empty or broken one says so. */
export function parseUserJson(text: string, what: string, hint?: string): unknown {
  if (text.trim() === '') throw new CliUsageError(`${what}: the file is empty`, { hint });
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliUsageError(`${what}: not JSON (${(err as Error).message})`, { hint, cause: err });
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * An id that is a UUID (a token's jti, an access request's id), refused before it reaches the
 * store, whose own refusal would be a uuid syntax error. `what` names it, `hint` where to find one.
 */
export function uuidArgument(value: string, what: string, hint: string): string {
  if (!UUID.test(value)) throw new CliUsageError(`not a ${what}: "${value}"`, { hint });
  return value.toLowerCase();
}

/** A token id (jti). */
export const tokenId = (value: string): string =>
  uuidArgument(
    value,
    'token id',
    'a token id (jti) is a UUID such as 3f0c9a4e-8d1b-4c55-9d3e-2a6f1b7c8e90, printed by `pgward token issue` (stderr, or "jti" with --json); to revoke every token of a person use --user NAME',
  );

/** A duration option (--ttl 8h, --older-than 90d), checked before anything is opened. */
export function durationOption(value: string, option: string): void {
  try {
    parseDuration(value);
  } catch (err) {
    throw new CliUsageError(`${option}: ${(err as Error).message}`);
  }
}
