/**
 * Where a relayed session is in its life. One value instead of a handful of booleans, so
 * that states which cannot coexist (ended and binding, refusing and draining) cannot be
 * represented together, and every change goes through one checked function.
 *
 * - unbound: no upstream connection yet; the first client message asks for one.
 * - binding: the upstream connection is being obtained; the client is held.
 * - live: bytes flow both ways.
 * - draining: ends at the next ReadyForQuery outside a transaction (graceful shutdown).
 * - refusing: the observer ended the session; nothing more from the client goes upstream.
 * - terminated: the client sent Terminate; nothing after it is read.
 * - ended: both sockets are closing; the session's end has been reported.
 */
export type RelayPhaseName = 'unbound' | 'binding' | 'live' | 'draining' | 'refusing' | 'terminated' | 'ended';

const NEXT: Readonly<Record<RelayPhaseName, readonly RelayPhaseName[]>> = {
  unbound: ['binding', 'draining', 'refusing', 'terminated', 'ended'],
  binding: ['live', 'draining', 'refusing', 'terminated', 'ended'],
  live: ['draining', 'refusing', 'terminated', 'ended'],
  draining: ['refusing', 'terminated', 'ended'],
  refusing: ['ended'],
  terminated: ['ended'],
  ended: [],
};

export class IllegalPhaseTransition extends Error {
  constructor(
    readonly from: RelayPhaseName,
    readonly to: RelayPhaseName,
  ) {
    super(`illegal relay phase transition ${from} -> ${to}`);
    this.name = 'IllegalPhaseTransition';
  }
}

export function canMove(from: RelayPhaseName, to: RelayPhaseName): boolean {
  return NEXT[from].includes(to);
}

/** Under the test runner an illegal transition throws, so a bug fails the test that caused it. */
const strictByDefault = process.env['VITEST'] !== undefined || process.env['NODE_ENV'] === 'test';

export class RelayPhase {
  private current: RelayPhaseName;

  constructor(
    initial: RelayPhaseName,
    /** Told of an illegal transition when not strict (the relay keeps its current phase). */
    private readonly onIllegal: (err: IllegalPhaseTransition) => void = () => undefined,
    private readonly strict = strictByDefault,
  ) {
    this.current = initial;
  }

  get name(): RelayPhaseName {
    return this.current;
  }

  is(...names: RelayPhaseName[]): boolean {
    return names.includes(this.current);
  }

  /** Moves to `to`; false (and nothing changes) when the move is not allowed. */
  to(to: RelayPhaseName): boolean {
    if (canMove(this.current, to)) {
      this.current = to;
      return true;
    }
    const err = new IllegalPhaseTransition(this.current, to);
    if (this.strict) throw err;
    this.onIllegal(err);
    return false;
  }
}
