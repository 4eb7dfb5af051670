import { BackendMessageError, decodeHandshake, type HandshakeMessage } from '../../src/protocol/backend-messages.js';
import { AuthCode, Be } from '../../src/protocol/constants.js';
import { PgError, ProtocolFramingError } from '../../src/protocol/errors.js';
import { FrameReader, type Frame } from '../../src/protocol/frame-reader.js';
import { upstreamHandshakeLimits } from '../../src/protocol/limits.js';
import { invariant, split, tolerate } from '../support.js';

/**
 * What an upstream server sends before ReadyForQuery, read as the connector reads it:
 * FrameReader with the handshake caps, then decodeHandshake. Input: byte 0 seeds the
 * split, then the server's bytes.
 */
export function fuzz(data: Buffer): void {
  if (data.length < 1) return;
  const stream = data.subarray(1);
  tolerate([BackendMessageError, PgError, ProtocolFramingError], () => {
    const reader = new FrameReader(upstreamHandshakeLimits(), 'backend');
    let pushed = 0;
    let consumed = 0;
    for (const chunk of split(stream, data[0]!)) {
      reader.push(chunk);
      pushed += chunk.length;
      for (let frame = reader.next(); frame; frame = reader.next()) {
        invariant(
          stream.readUInt32BE(consumed + 1) === 4 + frame.body.length,
          'frame length differs from its length word',
        );
        consumed += 5 + frame.body.length;
        check(frame, decodeHandshake(frame));
      }
      invariant(consumed + reader.buffered === pushed, 'consumed and buffered bytes do not add up');
    }
  });
}

function check({ type, body }: Frame, msg: HandshakeMessage): void {
  switch (msg.type) {
    case 'auth':
      invariant(type === Be.Authentication && msg.code === body.readUInt32BE(0), 'authentication code misread');
      invariant(msg.data.length === body.length - 4, 'authentication data is not the rest of the message');
      invariant(msg.code !== AuthCode.MD5Password || msg.data.length === 4, 'MD5 salt is not 4 bytes');
      return;
    case 'parameter':
      invariant(!msg.name.includes('\0') && !msg.value.includes('\0'), 'parameter string runs past its terminator');
      return;
    case 'key':
      invariant(
        msg.key.length >= 4 && msg.key.length <= 256 && msg.pid === body.readUInt32BE(0),
        'BackendKeyData misread',
      );
      return;
    case 'ready':
      invariant(body.length === 1 && 'ITE'.includes(msg.status), 'ReadyForQuery status misread');
      return;
    case 'error':
    case 'notice':
      // Callers print these: the three fields are always there, whatever the server sent.
      for (const field of [msg.fields.severity, msg.fields.code, msg.fields.message]) {
        invariant(typeof field === 'string', `${msg.type} without severity, code or message`);
      }
      return;
    case 'negotiate':
      invariant(
        msg.version === body.readUInt32BE(0) && msg.options.length === body.readInt32BE(4),
        'NegotiateProtocolVersion misread',
      );
      invariant(
        msg.options.every((o) => !o.includes('\0')),
        'option name runs past its terminator',
      );
  }
}
