/**
 * What the CLI prints: results on stdout (a line, or one JSON document with --json, for
 * scripts), progress and confirmations on stderr.
 */

export const out = (line: string): void => {
  process.stdout.write(line + '\n');
};

/** One JSON document on stdout; Dates as ISO strings (JSON.stringify's own rule). */
export const printJson = (value: unknown): void => {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
};

export const note = (line: string): void => {
  process.stderr.write(line + '\n');
};

/**
 * A reader that stops early (`pgward policy versions | head -2`) closes the pipe: the next
 * write fails with EPIPE. That is the reader's choice, not a failure: exit at once, quietly,
 * with 0 (as the shell's own `yes | head` ends without a word).
 */
export function quietOnClosedPipe(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      process.exitCode = 1;
    });
  }
}
