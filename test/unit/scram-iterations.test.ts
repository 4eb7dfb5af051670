import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';

describe('auth.scramIterations', () => {
  it('defaults to RFC 7677 minimum of 4,096, which pgjdbc and other strict clients require', () => {
    expect(parseConfig({}).auth.scramIterations).toBe(4096);
    expect(parseConfig({ auth: {} }).auth.scramIterations).toBe(4096);
  });

  it('refuses fewer than 4,096 with an error that names the setting, the risk and the switch', () => {
    expect(() => parseConfig({ auth: { scramIterations: 256 } }, 'pgward.yaml')).toThrow(
      /^pgward\.yaml: .*at least 4096 .*pgjdbc.*set auth\.allowWeakScramIterations: true.*\n.*at auth\.scramIterations$/,
    );
  });

  it('accepts fewer only with auth.allowWeakScramIterations', () => {
    const c = parseConfig({ auth: { scramIterations: 256, allowWeakScramIterations: true } });
    expect(c.auth.scramIterations).toBe(256);
    expect(parseConfig({ auth: { scramIterations: 10_000 } }).auth.scramIterations).toBe(10_000);
  });
});
