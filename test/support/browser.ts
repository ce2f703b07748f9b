import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium (scripts/debian-packages.txt); Playwright never downloads a browser here. */
export const CHROMIUM = process.env['POLYVISOR_CHROMIUM'] ?? '/usr/bin/chromium';

/** A headless Chromium for one test file (Playwright gives it a fresh temporary profile). */
export interface TestBrowser {
  readonly browser: Browser;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  // No background networking: this machine has no network beyond loopback, and Chromium's
  // own connections (updates, sync, safe browsing) would only fail and slow the start.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
  return {
    browser,
    close: () => browser.close(),
  };
}

/** Where test runs save screenshots for review (test-results/ is git-ignored). */
export const SCREENSHOT_DIR = join(process.cwd(), 'test-results', 'screenshots');
