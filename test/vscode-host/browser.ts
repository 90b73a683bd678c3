// Debian's headless Chromium, driven by playwright-core (never a browser a test tool downloads).
import { chromium, type Browser, type Page } from 'playwright-core';
import { chromiumBin } from './paths';

/**
 * The networking flags matter offline: without them Chromium keeps retrying hosts it cannot
 * reach (component updates, sync, QUIC probes) and the workbench waits on them.
 */
const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

export interface BrowserSession {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

/** Launches Chromium with one page of a size that makes readable screenshots. */
export async function launchBrowser(): Promise<BrowserSession> {
  const browser = await chromium.launch({ executablePath: chromiumBin, headless: true, args: chromiumArgs });
  const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
  const page = await context.newPage();
  return {
    browser,
    page,
    async close() {
      await browser.close().catch(() => {});
    },
  };
}
