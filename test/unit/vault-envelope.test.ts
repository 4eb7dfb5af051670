import { randomBytes } from 'node:crypto';
import { mkdtemp, stat, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { open, seal, VaultKeyError } from '../../src/vault/envelope.js';
import { loadVaultKey } from '../../src/vault/key-source.js';

describe('vault envelope encryption', () => {
  const kek = randomBytes(32);

  it('round-trips and never contains the plaintext', () => {
    const blob = seal(kek, Buffer.from('s3cret-upstream-password'), 'vault/app/app_rw');
    expect(blob.includes(Buffer.from('s3cret'))).toBe(false);
    expect(open(kek, blob, 'vault/app/app_rw').toString()).toBe('s3cret-upstream-password');
  });

  it('uses a fresh data key each time', () => {
    const a = seal(kek, Buffer.from('x'), 'slot');
    const b = seal(kek, Buffer.from('x'), 'slot');
    expect(a.equals(b)).toBe(false);
  });

  it('refuses the wrong key, another slot, and any flipped bit', () => {
    const blob = seal(kek, Buffer.from('pw'), 'vault/a/r');
    expect(() => open(randomBytes(32), blob, 'vault/a/r')).toThrow(VaultKeyError);
    expect(() => open(kek, blob, 'vault/b/r')).toThrow(VaultKeyError);
    for (let i = 2; i < blob.length; i += 7) {
      const bad = Buffer.from(blob);
      bad[i]! ^= 1;
      expect(() => open(kek, bad, 'vault/a/r'), `bit flip at ${i}`).toThrow(VaultKeyError);
    }
  });
});

describe('vault key source', () => {
  it('creates a 0600 key file when asked, then reads the same key back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-key-'));
    const file = join(dir, 'sub', 'vault.key');
    const k1 = await loadVaultKey({ file, createIfMissing: true });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await loadVaultKey({ file })).equals(k1)).toBe(true);
  });

  it('prefers the environment variable', async () => {
    const key = randomBytes(32);
    process.env['PGWARD_TEST_KEY'] = key.toString('base64');
    expect((await loadVaultKey({ env: 'PGWARD_TEST_KEY', file: '/nonexistent' })).equals(key)).toBe(true);
    delete process.env['PGWARD_TEST_KEY'];
  });

  it('refuses a key file others can read, and a key of the wrong size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pgward-key-'));
    const file = join(dir, 'k');
    await writeFile(file, randomBytes(32).toString('base64'));
    await chmod(file, 0o644);
    await expect(loadVaultKey({ file })).rejects.toThrow(/readable by others/);
    await writeFile(file, randomBytes(16).toString('base64'));
    await chmod(file, 0o600);
    await expect(loadVaultKey({ file })).rejects.toThrow(/32 bytes/);
  });
});
