import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import type { DevUser } from '../../src/identity/dev-idp.js';

/** Debian's Chromium; playwright-core never downloads a browser here. */
export const CHROMIUM_PATH = process.env['PGWARD_CHROMIUM'] ?? '/usr/bin/chromium';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}

/**
 * Signs in through the development identity provider's real form. Starts from any console
 * URL that needs a session; returns once the browser is back on the console.
 */
export async function signInAt(page: Page, url: string, user: DevUser): Promise<void> {
  await page.goto(url);
  if (await page.locator('a.button[href="/auth/login"]').count()) await page.click('a.button[href="/auth/login"]');
  await page.waitForSelector('input#username');
  await page.fill('input#username', user.username);
  await page.fill('input#password', user.password);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.startsWith('/interaction') && !u.pathname.startsWith('/auth')),
    page.click('button[type=submit]'),
  ]);
}

/**
 * Saves the export the audit page just made (its "export file" and "signed manifest" links)
 * into dir, as an auditor's browser would, and returns the export file's path (the manifest
 * sits beside it as FILE.manifest.jws, where `pgward audit verify` looks).
 */
export async function downloadExport(page: Page, dir: string): Promise<string> {
  const [file] = await Promise.all([
    page.waitForEvent('download'),
    page.click('#export-status a:has-text("export file")'),
  ]);
  const filePath = join(dir, file.suggestedFilename());
  await file.saveAs(filePath);
  const [manifest] = await Promise.all([
    page.waitForEvent('download'),
    page.click('#export-status a:has-text("signed manifest")'),
  ]);
  await manifest.saveAs(`${filePath}.manifest.jws`);
  return filePath;
}
