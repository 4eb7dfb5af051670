/**
 * Writes the seed corpus (fuzz/corpus/<target>/*.bin): real messages built with the
 * gateway's own writers, pg-protocol's serializer and a real SCRAM exchange. Run with
 * `npm run fuzz:seeds`; the output is committed, so this only matters when a format changes.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { serialize } from 'pg-protocol';
import { ScramClientExchange } from '../src/auth/scram-client.js';
import { makeVerifier } from '../src/auth/scram-primitives.js';
import { SCRAM, SCRAM_PLUS, ScramServerExchange } from '../src/auth/scram-server.js';
import * as W from '../src/protocol/backend-writer.js';
import { GSSENC_REQUEST_CODE, SSL_REQUEST_CODE } from '../src/protocol/constants.js';
import { cancelRequest, parseMessage, queryMessage, startupMessage } from '../src/protocol/frontend-writer.js';
import { NONCE } from './targets/scram-client.js';
import { BINDING, ITERATIONS, PASSWORD, SALT } from './targets/scram-server.js';

const root = process.argv[2] ?? 'fuzz/corpus';
const cat = (...parts: Array<Buffer | string | number[]>): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p))));
const request = (code: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeUInt32BE(8, 0);
  b.writeUInt32BE(code, 4);
  return b;
};
const user = ['user', 'alice'] as const;

const seeds: Record<string, Record<string, Buffer>> = {
  'startup-packet': {
    'startup-user-database-options': startupMessage([
      user,
      ['database', 'app'],
      ['options', '-c search_path=public --statement-timeout=5s -cgeqo=off -c application_name=a\\ b'],
      ['application_name', 'psql'],
    ]),
    'startup-3.2-pq-option': startupMessage([user, ['_pq_.command_marker', '1'], ['client_encoding', 'UTF8']], 2),
    'startup-replication-link-login': startupMessage([
      user,
      ['replication', 'database'],
      ['options', '-c pgward.login=link'],
      ['DateStyle', 'ISO, MDY'],
    ]),
    // At NAMEDATALEN - 1: a 63-byte database stays whole, a 64-byte user is cut before the é.
    'startup-identifiers-at-the-limit': startupMessage([
      ['user', `${'u'.repeat(62)}é`],
      ['database', 'd'.repeat(63)],
    ]),
    'ssl-request-then-startup': cat(request(SSL_REQUEST_CODE), startupMessage([user])),
    'ssl-request': request(SSL_REQUEST_CODE),
    'gssenc-request': request(GSSENC_REQUEST_CODE),
    'cancel-4-byte-key': cancelRequest(4242, Buffer.from([1, 2, 3, 4])),
    'cancel-32-byte-key': cancelRequest(4242, Buffer.alloc(32, 0xab)),
  },
  // Two control bytes first: split seed, then flags (see the target).
  'frontend-frames': {
    'extended-query-hold-q-p': cat(
      [0, 0x02],
      parseMessage('s1', 'select $1::int'),
      serialize.bind({ statement: 's1', values: ['7'] }),
      serialize.describe({ type: 'P' }),
      serialize.execute({}),
      serialize.sync(),
    ),
    'simple-queries-split': cat(
      [0x13, 0x01],
      queryMessage('select 1'),
      queryMessage('begin; select now(); commit'),
      serialize.end(),
    ),
    'blocked-statements-mixed': cat(
      [0x27, 0x0f],
      queryMessage('delete from t'),
      parseMessage('', 'update t set x = 1'),
      serialize.sync(),
      queryMessage('select 2'),
    ),
    'copy-in-streamed': cat(
      [0x05, 0x00],
      queryMessage('copy t from stdin'),
      serialize.copyData(Buffer.from('1\tone\n')),
      serialize.copyData(Buffer.from('2\ttwo\n')),
      serialize.copyDone(),
    ),
    'auth-phase-sasl': cat(
      [0x31, 0x13],
      serialize.sendSASLInitialResponseMessage(SCRAM, `n,,n=,r=${NONCE}`),
      serialize.sendSCRAMClientFinalMessage(`c=biws,r=${NONCE}abc,p=${'A'.repeat(43)}=`),
    ),
    'auth-phase-password': cat([0x02, 0x10], serialize.password('eyJhbGciOiJFUzI1NiJ9.e30.sig')),
    'over-small-cap': cat([0x00, 0x20], queryMessage(`select '${'x'.repeat(300)}'`)),
  },
  // Flags, then mechanism \0 client-first \0 client-final (markers %N and %P, see the target).
  'scram-server': {
    'plain-known-user': scramServerSeed(0x02, SCRAM, null),
    'plain-unknown-user': scramServerSeed(0x00, SCRAM, null),
    'wrong-proof-known-user': scramServerSeed(0x02, SCRAM, null, false),
    'plus-known-user': scramServerSeed(0x03, SCRAM_PLUS, BINDING),
    'y-flag-known-user': scramServerSeed(0x02, SCRAM, BINDING),
    'no-initial-response': scramServerSeed(0x06, SCRAM, null),
  },
  // Flags, then server-first \0 server-final (marker %V, see the target).
  'scram-client': {
    plain: cat([0x00], `r=${NONCE}c2VydmVybm9uY2U,s=${SALT.toString('base64')},i=128\0v=%V`),
    plus: cat([0x03], `r=${NONCE}c2VydmVybm9uY2U,s=${SALT.toString('base64')},i=128\0v=%V`),
    'y-flag': cat([0x01], `r=${NONCE}c2VydmVybm9uY2U,s=${SALT.toString('base64')},i=64\0v=%V`),
    'server-error': cat([0x00], `r=${NONCE}c2VydmVybm9uY2U,s=${SALT.toString('base64')},i=128\0e=invalid-proof`),
  },
  // A split seed byte, then what a server sends.
  'backend-handshake': {
    'sasl-to-ready': cat(
      [0],
      W.authenticationSASL([SCRAM_PLUS, SCRAM]),
      W.authenticationSASLContinue(`r=${NONCE}c2VydmVybm9uY2U,s=${SALT.toString('base64')},i=4096`),
      W.authenticationSASLFinal('v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4='),
      W.authenticationOk(),
      W.parameterStatus('server_version', '17.2'),
      W.parameterStatus('client_encoding', 'UTF8'),
      W.parameterStatus('standard_conforming_strings', 'on'),
      W.backendKeyData(4242, Buffer.from([1, 2, 3, 4])),
      W.readyForQuery('I'),
    ),
    'negotiate-32-byte-key': cat(
      [0x07],
      W.negotiateProtocolVersion(0, ['_pq_.command_marker']),
      W.authenticationOk(),
      W.backendKeyData(4242, Buffer.alloc(32, 0xab)),
      W.readyForQuery('T'),
    ),
    'error-response': cat(
      [0x11],
      W.errorResponse({
        severity: 'FATAL',
        code: '28P01',
        message: 'password authentication failed for user "alice"',
        detail: 'd',
        hint: 'h',
      }),
    ),
    'md5-and-notice': cat(
      [0x03],
      ['R'.charCodeAt(0), 0, 0, 0, 12, 0, 0, 0, 5, 1, 2, 3, 4],
      W.noticeResponse({ severity: 'NOTICE', code: '00000', message: 'hello' }),
      W.authenticationCleartextPassword(),
    ),
  },
};

/**
 * A real exchange, recorded with the server nonce and the proof replaced by the target's
 * markers; with `markProof` false the proof is a fixed wrong one (the wrong-password path).
 */
function scramServerSeed(flags: number, mechanism: string, clientBinding: Buffer | null, markProof = true): Buffer {
  const client = new ScramClientExchange({
    password: PASSWORD,
    mechanisms: [mechanism],
    channelBinding: clientBinding,
    nonce: 'c2VlZCBjbGllbnQgbm9uY2U=',
  });
  const server = new ScramServerExchange({
    user: 'fuzz',
    credentials: {
      salt: SALT,
      iterations: ITERATIONS,
      verifiers: [{ id: 'v1', ...makeVerifier(PASSWORD, SALT, ITERATIONS) }],
    },
    mockSecret: Buffer.alloc(32, 7),
    mockIterations: ITERATIONS,
    channelBinding: flags & 1 ? BINDING : null,
  });
  const first = client.clientFirst();
  const started = server.start(mechanism, first);
  if (!('serverFirst' in started)) throw new Error('expected server-first');
  const nonce = started.serverFirst.slice(2, started.serverFirst.indexOf(','));
  const final = client.serverFirst(started.serverFirst).toString().replace(nonce, '%N');
  const proof = markProof ? '%P' : Buffer.alloc(32, 1).toString('base64');
  return cat([flags], `${mechanism}\0`, first, '\0', final.replace(/,p=[^,]*$/, `,p=${proof}`));
}

for (const [target, files] of Object.entries(seeds)) {
  mkdirSync(join(root, target), { recursive: true });
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(root, target, `${name}.bin`), bytes);
  console.log(`${target}: ${Object.keys(files).length} seeds`);
}
