import { createHmac } from 'node:crypto';
import type { Store } from '../store/store.js';
import { keyId, open, seal, VaultKeyError } from './envelope.js';

/**
 * Upstream credentials at rest. Secrets go in through `set` and come out only to the
 * upstream connector; nothing here logs or returns them in any other form.
 */
export class Vault {
  readonly kekId: string;

  constructor(
    private readonly store: Store,
    private readonly kek: Buffer,
  ) {
    this.kekId = keyId(kek);
  }

  async set(target: string, role: string, secret: string): Promise<void> {
    const sealed = seal(this.kek, Buffer.from(secret, 'utf8'), `vault/${target}/${role}`);
    await this.store.putVaultEntry(target, role, sealed, this.kekId);
  }

  /** Stores `secret` unless (target, role) has one; either way returns the stored one (shared by gateways). */
  async setIfAbsent(target: string, role: string, secret: string): Promise<{ secret: string; stored: boolean }> {
    const sealed = seal(this.kek, Buffer.from(secret, 'utf8'), `vault/${target}/${role}`);
    const stored = await this.store.putVaultEntryIfAbsent(target, role, sealed, this.kekId);
    if (stored) return { secret, stored };
    const existing = await this.get(target, role);
    if (existing === null) throw new Error(`vault entry ${target}/${role} vanished while it was being stored`);
    return { secret: existing, stored };
  }

  async delete(target: string, role: string): Promise<boolean> {
    return this.store.deleteVaultEntry(target, role);
  }

  async get(target: string, role: string): Promise<string | null> {
    const entry = await this.store.vaultEntry(target, role);
    if (!entry) return null;
    if (entry.kekId !== this.kekId) {
      throw new VaultKeyError(`vault entry ${target}/${role} was sealed with another key (${entry.kekId})`);
    }
    return open(this.kek, entry.sealed, `vault/${target}/${role}`).toString('utf8');
  }

  /** Seals gateway-internal material (signing keys) under the same key. */
  sealInternal(slot: string, value: Buffer): Buffer {
    return seal(this.kek, value, `internal/${slot}`);
  }

  openInternal(slot: string, blob: Buffer): Buffer {
    return open(this.kek, blob, `internal/${slot}`);
  }

  /** A secret derived from the vault key for deterministic values (SCRAM mock salts). */
  derive(label: string): Buffer {
    return createHmac('sha256', this.kek).update(`pgward-derive:${label}`).digest();
  }
}
