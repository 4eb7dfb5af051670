import { describe, expect, it } from 'vitest';
import { SessionRegistry, type RegisteredSession } from '../../src/gateway/session-registry.js';

function session(
  id: string,
  user: string,
  jti: string | null,
  startedAt: number,
): RegisteredSession & { killed: string[] } {
  const killed: string[] = [];
  return {
    id,
    user,
    target: 'app',
    clientAddr: '127.0.0.1',
    startedAt: new Date(startedAt),
    tokenJti: jti,
    kill: (reason) => void killed.push(reason),
    drain: () => undefined,
    killed,
  };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('session registry: a revocation that arrives before the session registers', () => {
  it('a session of a revoked token that registers after the notice is ended right after registering', async () => {
    let t = 1_000;
    const reg = new SessionRegistry(() => t);
    expect(reg.endRevoked({ jti: 'j1' }, 'the token of this session was revoked')).toBe(0);
    t += 5;
    const late = session('s1', 'bob', 'j1', 900);
    const other = session('s2', 'bob', 'j2', 900);
    reg.add(late);
    reg.add(other);
    await tick();
    expect(late.killed).toEqual(['the token of this session was revoked']);
    expect(other.killed).toEqual([]);
  });

  it('a revoked user: sessions that connected before the notice end; one that connected after it stays', async () => {
    let t = 1_000;
    const reg = new SessionRegistry(() => t);
    reg.endRevoked({ user: 'ci-deploy' }, 'the token of this session was revoked');
    const before = session('s1', 'ci-deploy', null, 999);
    const after = session('s2', 'ci-deploy', null, 1_001);
    t = 2_000;
    reg.add(before);
    reg.add(after);
    await tick();
    expect(before.killed).toHaveLength(1);
    expect(after.killed).toEqual([]);
  });

  it('forgets revocations after an hour', async () => {
    let t = 1_000;
    const reg = new SessionRegistry(() => t);
    reg.endRevoked({ jti: 'j1' }, 'revoked');
    t += 3_600_001;
    const s = session('s1', 'bob', 'j1', 0);
    reg.add(s);
    await tick();
    expect(s.killed).toEqual([]);
  });
});
