import { SocketMessageReader } from '../net/socket-reader.js';
import { parseFields } from '../protocol/backend-messages.js';
import { Be, TxStatusByte } from '../protocol/constants.js';
import { FrameReader } from '../protocol/frame-reader.js';
import { queryMessage } from '../protocol/frontend-writer.js';
import { backendLimits } from '../protocol/limits.js';
import type { UpstreamConnection } from './connector.js';
import { dataRow, UpstreamQueryError } from './simple-query.js';

/**
 * What of a backend's session DISCARD ALL leaves behind, as SQL can see it: a temp
 * namespace once made stays assigned to the backend (so a later PREPARE TRANSACTION that
 * touches pg_temp is no longer refused), and a library loaded by a session (plpgsql on its
 * first function) stays loaded, which shows as the custom settings it defined.
 */
export interface BackendState {
  /** ParameterStatus values the server sent while answering (the reset's among them). */
  parameters: Array<[string, string]>;
  /** Transaction status after the last ReadyForQuery. */
  status: string;
  /** pg_my_temp_schema() is set: this backend made a temp namespace. */
  tempNamespace: boolean;
  /** Settings with a dot in their name in pg_settings: defined by loaded libraries. */
  customSettings: number;
}

/** Schema-qualified throughout: the session's search_path must not choose what runs here. */
export const STATE_SQL =
  'select pg_catalog.pg_my_temp_schema() operator(pg_catalog.<>) 0, ' +
  "(select pg_catalog.count(*) from pg_catalog.pg_settings where pg_catalog.strpos(name, '.') operator(pg_catalog.>) 0)";

/**
 * Runs `before` (the pool's reset, when given) and the state query pipelined in one round
 * trip on an idle connection outside the relay, and reads the backend's state after both.
 * Any error rejects: a connection whose reset or check failed is not reused.
 */
export async function readBackendState(
  up: UpstreamConnection,
  before?: string,
  timeoutMs = 5_000,
): Promise<BackendState> {
  const reader = new SocketMessageReader(up.socket, new FrameReader(backendLimits(1 << 20), 'backend'));
  // Destroyed without an error object: an 'error' event here would have no listener.
  const timer = setTimeout(() => up.socket.destroy(), timeoutMs);
  try {
    up.socket.write(
      before === undefined ? queryMessage(STATE_SQL) : Buffer.concat([queryMessage(before), queryMessage(STATE_SQL)]),
    );
    let readies = before === undefined ? 1 : 2;
    const parameters: Array<[string, string]> = [];
    let error: UpstreamQueryError | null = null;
    let row: Array<string | null> | null = null;
    for (;;) {
      const f = await reader.message();
      if (f.type === Be.ParameterStatus) {
        const nul = f.body.indexOf(0);
        parameters.push([f.body.toString('utf8', 0, nul), f.body.toString('utf8', nul + 1, f.body.length - 1)]);
      } else if (f.type === Be.DataRow) {
        row = dataRow(f.body);
      } else if (f.type === Be.ErrorResponse) {
        const e = parseFields(f.body);
        error ??= new UpstreamQueryError(e.code, e.message);
      } else if (f.type === Be.ReadyForQuery && --readies === 0) {
        if (error) throw error;
        if (!row || row.length !== 2) throw new Error('the backend state query returned no row');
        return {
          parameters,
          status: String.fromCharCode(f.body[0] ?? TxStatusByte.Idle),
          tempNamespace: row[0] !== 'f',
          customSettings: Number(row[1]),
        };
      }
    }
  } finally {
    clearTimeout(timer);
    const rest = reader.release();
    if (rest.length > 0) up.socket.destroy();
  }
}
