import { readFile } from 'node:fs/promises';
import { parse } from 'yaml';
import { z } from 'zod';
import { configSchema, type ConfigInput, type GatewayConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function parseConfig(input: unknown, source = 'config'): GatewayConfig {
  const result = configSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(`${source}: ${z.prettifyError(result.error)}`);
  }
  return result.data;
}

export async function loadConfigFile(path: string): Promise<GatewayConfig> {
  const text = await readFile(path, 'utf8');
  return parseConfig(parse(text) as ConfigInput, path);
}
