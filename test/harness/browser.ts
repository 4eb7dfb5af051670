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
