import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { loadPolicyDir } from '../../src/policy/loader.js';

const exec = promisify(execFile);

describe('deployment files', () => {
  it('docker-compose.yml is valid (Debian docker-compose; no engine needed)', async () => {
    const { stdout } = await exec('docker-compose', ['--env-file', 'deploy/.env.example', 'config']);
    expect(stdout).toContain('quay.io/keycloak/keycloak');
    expect(stdout).toContain('PGWARD_VAULT_KEY');
    // Without the secrets the compose file refuses to start rather than run with blanks.
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const empty = join(await mkdtemp(join(tmpdir(), 'compose-')), 'empty.env');
    await writeFile(empty, '');
    await expect(
      exec('docker-compose', ['--env-file', empty, 'config', '-q'], { env: { PATH: process.env['PATH'] ?? '' } }),
    ).rejects.toThrow(/set in \.env/);
  });

  it('the compose config is a valid pgward config whose policies load', async () => {
    const c = await loadConfigFile('deploy/pgward.yaml');
    // Browsers are sent to the issuer: a host address; the gateway reads discovery by service name.
    expect(c.oidc?.issuer).toBe('http://localhost:8080/realms/pgward');
    expect(c.oidc?.discoveryUrl).toBe('http://keycloak:8080/realms/pgward/.well-known/openid-configuration');
    expect(c.vault.keyEnv).toBe('PGWARD_VAULT_KEY');
    expect(Object.keys(c.targets)).toEqual(['demo']);
    expect((await loadPolicyDir('policies')).ok).toBe(true);
  });
});
