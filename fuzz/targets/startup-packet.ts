import { readStartupSettings } from '../../src/policy/startup-settings.js';
import { MAX_IDENTIFIER_BYTES, MAX_STARTUP_BODY } from '../../src/protocol/constants.js';
import { PgError, ProtocolFramingError } from '../../src/protocol/errors.js';
import { FrameReader } from '../../src/protocol/frame-reader.js';
import { authLimits } from '../../src/protocol/limits.js';
import { paramValue, parseStartupPacket, truncateIdentifier, type StartupParams } from '../../src/protocol/startup.js';
import { invariant, split, tolerate } from '../support.js';

/**
 * A client's first bytes, as the gateway reads them: startup-type packets framed by
 * FrameReader, classified by parseStartupPacket, the parameters read as settings
 * (options split like pg_split_opts). Input: the raw bytes of one or more packets.
 */
export function fuzz(data: Buffer): void {
  tolerate([PgError, ProtocolFramingError], () => {
    const reader = new FrameReader(authLimits(), 'frontend');
    let pushed = 0;
    let consumed = 0;
    // No control byte, so corpus files stay plain packets: the split comes from the last byte.
    for (const chunk of split(data, (data[data.length - 1] ?? 0) ^ (data.length & 0xff))) {
      reader.push(chunk);
      pushed += chunk.length;
      for (let body = reader.nextStartupPacket(); body; body = reader.nextStartupPacket()) {
        invariant(data.readUInt32BE(consumed) === 4 + body.length, 'packet length differs from its length word');
        invariant(body.length >= 4 && body.length <= MAX_STARTUP_BODY, 'packet body outside 4..MAX_STARTUP_BODY');
        consumed += 4 + body.length;
        checkPacket(body);
      }
      invariant(consumed + reader.buffered === pushed, 'consumed and buffered bytes do not add up');
    }
  });
}

function checkPacket(body: Buffer): void {
  const packet = parseStartupPacket(body);
  switch (packet.kind) {
    case 'ssl-request':
    case 'gssenc-request':
      invariant(packet.bodyLength === body.length, 'request body length misreported');
      return;
    case 'cancel':
      invariant(packet.key.length >= 4 && packet.key.length <= 256, 'cancel key outside 4..256 bytes');
      invariant(packet.key.length === body.length - 8, 'cancel key is not the rest of the packet');
      return;
    case 'startup':
      invariant(packet.major === 3 && packet.minor === body.readUInt16BE(2), 'protocol version misread');
      checkParams(packet.params, body.subarray(4));
  }
}

function checkParams(params: StartupParams, raw: Buffer): void {
  // Policy judges the decoded names and values: they must be exactly the bytes sent, or a
  // client could say one thing to Postgres's rules and another to ours.
  const again = Buffer.from(params.map(([n, v]) => `${n}\0${v}\0`).join('') + '\0', 'utf8');
  invariant(again.equals(raw), 'startup parameters do not re-encode to the bytes received');
  for (const identity of ['user', 'database']) {
    invariant(params.filter(([n]) => n === identity).length <= 1, `${identity} appears twice`);
    const value = paramValue(params, identity);
    if (value === undefined) continue;
    const cut = truncateIdentifier(value);
    invariant(value.startsWith(cut) && Buffer.byteLength(cut) <= MAX_IDENTIFIER_BYTES, `${identity} truncated wrongly`);
    invariant(Buffer.byteLength(value) > MAX_IDENTIFIER_BYTES || cut === value, `short ${identity} was truncated`);
  }
  const settings = readStartupSettings(params);
  for (const name of settings.effective.keys())
    invariant(name === name.toLowerCase(), 'setting name not folded to lower case');
  for (const name of settings.duplicated)
    invariant(settings.effective.has(name), 'duplicate of a setting that has no value');
  for (const name of settings.unsupportedOptions)
    invariant(name.startsWith('_pq_.'), 'non-protocol option listed as unsupported');
  // application_name reaches logs and the audit: printable ASCII only.
  invariant(
    settings.applicationName === null || /^[\x20-\x7e]*$/.test(settings.applicationName),
    'application_name not made printable',
  );
}
