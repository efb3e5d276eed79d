// Loads test pages in headless Chromium (Debian's /usr/bin/chromium, or
// $CHROMIUM) with playwright-core, which downloads no browser of its own,
// and prints each page's window.__result as one JSON line once the page
// set window.__done. Used by js/browser_test.go.
//
//   node test/browser/run.mjs URL...
import { chromium } from 'playwright-core';

const timeout = Number(process.env.PAGE_TIMEOUT_MS || 60_000);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', // as root, and in containers
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking', // no calls home: this machine's network is closed
    '--disable-component-update',
    '--disable-sync',
    // WebRTC between the browser and a Go twin on one machine: host
    // candidates on the loopback interface, under their real addresses
    // (not mDNS names, which pion does not resolve here).
    '--allow-loopback-in-peer-connection',
    '--disable-features=WebRtcHideLocalIpsWithMdns',
    // camera and microphone without a device or a prompt
    '--use-fake-device-for-media-stream',
    '--use-fake-ui-for-media-stream',
  ],
});
let failed = false;
try {
  for (const url of process.argv.slice(2)) {
    const page = await browser.newPage();
    page.on('console', (m) => console.error(`console ${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => console.error(`page error: ${e.message}`));
    const start = Date.now();
    try {
      await page.goto(url);
      await page.waitForFunction(() => window.__done === true, null, { timeout });
      const r = await page.evaluate(() => window.__result);
      console.log(JSON.stringify({ url, ms: Date.now() - start, ...r }));
    } catch (err) {
      failed = true;
      const r = await page.evaluate(() => window.__result).catch(() => undefined);
      console.log(JSON.stringify({ url, ok: false, error: `runner: ${err.message}`, partial: r }));
    }
    await page.close();
  }
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
