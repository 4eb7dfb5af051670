/**
 * The `options` startup parameter, read the way the backend reads it: split like
 * pg_split_opts (unescaped whitespace separates words, a backslash takes the next
 * character literally), then `-c name=value`, `-cname=value` and `--name=value` switches
 * as process_postgres_switches and ParseLongOption take them ('-' in a name becomes '_').
 * Every other switch (-B, -P, -S, ...) is refused: only settings can be checked by policy.
 */

export class OptionsError extends Error {
  override name = 'OptionsError';
}

const SPACE = new Set([' ', '\t', '\n', '\v', '\f', '\r']);

export function splitOptions(value: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < value.length) {
    while (i < value.length && SPACE.has(value[i]!)) i++;
    if (i >= value.length) break;
    let word = '';
    let escaped = false;
    while (i < value.length) {
      const c = value[i]!;
      if (SPACE.has(c) && !escaped) break;
      if (!escaped && c === '\\') escaped = true;
      else {
        escaped = false;
        word += c;
      }
      i++;
    }
    words.push(word);
  }
  return words;
}

function longOption(arg: string): [string, string] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new OptionsError(`--${arg} requires a value`);
  return [arg.slice(0, eq).replace(/-/g, '_'), arg.slice(eq + 1)];
}

/** The settings an `options` value makes, in the order the backend applies them. */
export function parseOptions(value: string): Array<[string, string]> {
  const words = splitOptions(value);
  const settings: Array<[string, string]> = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-c') {
      const arg = words[++i];
      if (arg === undefined) throw new OptionsError('option requires an argument -- c');
      settings.push(longOption(arg));
    } else if (w.startsWith('-c')) {
      settings.push(longOption(w.slice(2)));
    } else if (w.startsWith('--') && w.length > 2) {
      settings.push(longOption(w.slice(2)));
    } else {
      throw new OptionsError(`only -c name=value settings are allowed in options, not "${w}"`);
    }
  }
  return settings;
}
