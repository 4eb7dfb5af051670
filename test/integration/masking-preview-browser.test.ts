import { mkdir } from 'node:fs/promises';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectNoA11yViolations } from '../harness/axe.js';
import { launchChromium, signInAt } from '../harness/browser.js';
import { startTestGateway, type TestGateway } from '../harness/gateway.js';

/* The policy editor's masking preview (issue 17, docs/masking.md), in Chromium. */

const SHOTS = 'test-results/screenshots';
const POLICY = `rules:
  - name: developers-masked
    effect: allow
    subjects: { groups: [developers] }
    targets: ['*']
    tls: { required: false }
    session:
      masking:
        columns:
          - { column: 'public.*.email', strategy: email-domain }
        values:
          - { value: payment-card, strategy: keep-last, keep: 4 }
  - name: admins
    effect: allow
    subjects: { groups: [admins] }
    targets: ['*']
    tls: { required: false }
`;

let gw: TestGateway;
let browser: Browser;

beforeAll(async () => {
  await mkdir(SHOTS, { recursive: true });
  gw = await startTestGateway(inject('pgCluster'), {}, { web: true, policies: { 'p.yaml': POLICY } });
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
  await gw?.close();
});

describe('masking preview in the policy editor', () => {
  it("shows a sample before and after as a rule's sessions would see it; a rule without masking says so", async () => {
    const page = await browser.newPage();
    const bob = gw.web!.devIdp!.users.find((u) => u.username === 'bob')!;
    await signInAt(page, `${gw.web!.url}/admin/policy`, bob);
    await page.waitForSelector('body[data-ready="true"]');
    await page.getByLabel('Rule (an allow rule with session.masking)').fill('developers-masked');
    await page.click('#masking-preview button:has-text("Preview")');
    await page.waitForFunction(() => /^Masked: /.test(document.querySelector('#masking-status')?.textContent ?? ''));
    const after = (await page.locator('#masking-after').textContent()) ?? '';
    expect(after).toContain('***@example.com');
    expect(after).not.toContain('alice@example.com');
    expect(after).toContain('1111');
    expect(after).not.toContain('4111111111111111');
    expect(await page.locator('#masking-before').textContent()).toContain('alice@example.com');
    await page.locator('#masking-preview').screenshot({ path: `${SHOTS}/masking-preview.png` });
    await expectNoA11yViolations(page);

    await page.getByLabel('Rule (an allow rule with session.masking)').fill('admins');
    await page.click('#masking-preview button:has-text("Preview")');
    await page.waitForFunction(() =>
      /has no masking/.test(document.querySelector('#masking-status')?.textContent ?? ''),
    );
    await page.close();
  });
});
