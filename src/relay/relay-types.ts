import type { Duplex } from 'node:stream';
import type { RelayMasker } from './masker.js';
import type { RelayObserver } from './observer.js';
import type { IllegalPhaseTransition } from './relay-phase.js';

/** Why a relayed session ended (the session record's end_reason). */
export type EndReason =
  | 'client-terminate'
  | 'client-closed'
  | 'upstream-closed'
  | 'client-protocol-violation'
  | 'upstream-protocol-violation'
  | 'killed'
  | 'token-expired'
  | 'token-revoked'
  | 'max-duration'
  | 'idle-timeout'
  | 'detector'
  | 'shutdown'
  | 'upstream-unavailable';

export interface RelayStats {
  bytesFromClient: number;
  bytesToClient: number;
  messagesFromClient: number;
  rowsToClient: number;
}

/** An upstream connection handed to a relay that started without one. */
export interface BoundUpstream {
  socket: Duplex;
  /** Bytes read past the upstream's last ReadyForQuery. */
  leftover: Buffer;
  /** What the server reports now; differences from what the client was told are sent on. */
  parameters: ReadonlyArray<readonly [string, string]>;
}

export interface RelayOptions {
  maxMessageBytes: number;
  /** A client message left unfinished this long ends the session (no deadline when absent). */
  messageStallMs?: number | undefined;
  /** Bytes each side sent before the relay took over (e.g. pipelined after startup). */
  clientLeftover?: Buffer;
  upstreamLeftover?: Buffer;
  /** Sees every statement and cycle; may block a statement or end the session. */
  observer?: RelayObserver | undefined;
  /**
   * Data masking for this session (absent: no masking rules, and no row is looked at). It
   * sees the statements before the observer and may refuse them.
   */
  masker?: RelayMasker | undefined;
  /** The ParameterStatus values the client was given at the start (client_encoding among them). */
  parameters?: ReadonlyArray<readonly [string, string]> | undefined;
  /**
   * With no upstream at construction: called at the client's first message to get one. The
   * client waits (paused) meanwhile; a rejection ends the session with its FATAL.
   */
  bindUpstream?: (() => Promise<BoundUpstream>) | undefined;
  /** After a deferred upstream got the bytes that waited for it (a cancel asked meanwhile goes now). */
  onBound?: (() => void) | undefined;
  /** Every ParameterStatus the server sends during the session, in order (the pool records them on the connection). */
  onParameterStatus?: ((name: string, value: string) => void) | undefined;
  /** Leave the upstream connection open at the end when it is idle and clean (pooling). */
  keepUpstream?: boolean | undefined;
  /** reusable: the upstream connection was detached idle, outside any transaction. */
  onEnd(reason: EndReason, detail?: string, reusable?: boolean): void;
  /** A bug: the relay was asked to move between phases that cannot follow each other (thrown instead under tests). */
  onIllegalTransition?: ((err: IllegalPhaseTransition) => void) | undefined;
}
