import { describe, expect, it } from 'vitest';
import { planScramIssue } from '../../src/identity/token-service.js';

const salt = (n: number): Buffer => Buffer.alloc(16, n);
const at256 = { salt: salt(1), iterations: 256 };
const fresh = salt(9);

describe('a token issue and the user SCRAM salt and count', () => {
  it('keeps a user already at the configured count as they are', () => {
    expect(
      planScramIssue(
        { current: { salt: salt(2), iterations: 4096 }, move: null, live: 3, liveWithoutMove: 3 },
        4096,
        fresh,
      ),
    ).toEqual({
      verifierParams: { salt: salt(2), iterations: 4096 },
      moveParams: null,
      write: {},
    });
  });

  it('moves a user with no live token at once, to a fresh salt', () => {
    expect(planScramIssue({ current: at256, move: null, live: 0, liveWithoutMove: 0 }, 4096, fresh)).toEqual({
      verifierParams: { salt: fresh, iterations: 4096 },
      moveParams: null,
      write: { setCurrent: { salt: fresh, iterations: 4096 } },
    });
  });

  it('with live tokens at the old count: the new token gets a verifier for both, and a move starts', () => {
    const plan = planScramIssue({ current: at256, move: null, live: 1, liveWithoutMove: 1 }, 4096, fresh);
    expect(plan).toEqual({
      verifierParams: at256,
      moveParams: { salt: fresh, iterations: 4096 },
      write: { startMove: { salt: fresh, iterations: 4096 } },
    });
  });

  it('a move under way keeps its salt for every token issued while older tokens live', () => {
    const move = { salt: salt(5), iterations: 4096 };
    expect(planScramIssue({ current: at256, move, live: 2, liveWithoutMove: 1 }, 4096, fresh)).toEqual({
      verifierParams: at256,
      moveParams: move,
      write: {},
    });
  });

  it('finishes the move once no live token lacks a verifier for it', () => {
    const move = { salt: salt(5), iterations: 4096 };
    expect(planScramIssue({ current: at256, move, live: 2, liveWithoutMove: 0 }, 4096, fresh)).toEqual({
      verifierParams: move,
      moveParams: null,
      write: { promoteMove: true, setCurrent: move },
    });
  });

  it('restarts a move whose count is no longer the configured one', () => {
    const move = { salt: salt(5), iterations: 4096 };
    expect(planScramIssue({ current: at256, move, live: 2, liveWithoutMove: 1 }, 10_000, fresh)).toEqual({
      verifierParams: at256,
      moveParams: { salt: fresh, iterations: 10_000 },
      write: { startMove: { salt: fresh, iterations: 10_000 } },
    });
  });

  it('drops a move when the configuration goes back to the user current count', () => {
    const move = { salt: salt(5), iterations: 4096 };
    expect(planScramIssue({ current: at256, move, live: 2, liveWithoutMove: 1 }, 256, fresh)).toEqual({
      verifierParams: at256,
      moveParams: null,
      write: { dropMove: true },
    });
  });
});
