import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * JSON logs. Every field that could carry a secret is redacted by path, wherever it
 * appears, so a careless `log.info({ req })` still cannot leak one.
 */
export const REDACT_PATHS = [
  'password',
  'token',
  'secret',
  'authorization',
  'cookie',
  'PGPASSWORD',
  '*.password',
  '*.token',
  '*.secret',
  '*.authorization',
  '*.cookie',
  '*.PGPASSWORD',
  '*.privateKey',
  '*.key',
  'req.headers.authorization',
  'req.headers.cookie',
];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { svc: 'pgward' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ dest: 2, sync: false }),
  );
}
