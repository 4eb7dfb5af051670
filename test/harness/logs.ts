import { Writable } from 'node:stream';
import { createLogger, type Logger } from '../../src/util/logger.js';

/** A debug logger whose lines the test reads back, parsed. */
export function capturedLog(): { log: Logger; entries: () => Array<Record<string, unknown>> } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { log: createLogger('debug', out), entries: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>) };
}
