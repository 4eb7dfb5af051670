/** A live client session as the rest of the gateway may see it. */
export interface LiveSession {
  id: string;
  user: string | null;
  target: string | null;
  clientAddr: string;
  startedAt: Date;
  /** Ends the session with a FATAL the client can read. */
  kill(reason: string): void;
}

export class SessionRegistry {
  private readonly sessions = new Map<string, LiveSession>();

  add(session: LiveSession): void {
    this.sessions.set(session.id, session);
  }

  remove(id: string): void {
    this.sessions.delete(id);
  }

  get(id: string): LiveSession | undefined {
    return this.sessions.get(id);
  }

  list(): LiveSession[] {
    return [...this.sessions.values()];
  }

  get size(): number {
    return this.sessions.size;
  }
}
