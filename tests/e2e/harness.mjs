// Shared setup for the end-to-end tests: serves dist/ on a free loopback port
// and opens it in Debian's headless Chromium through playwright-core.
// Every page collects console errors and uncaught exceptions; tests assert none.
import { createServer } from 'node:http';
import { readFile, mkdir } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { chromium } from 'playwright-core';

const ROOT = resolve(import.meta.dirname, '..', '..');
const DIST = join(ROOT, 'dist');
export const SHOTS = join(ROOT, 'target', 'screenshots');

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.wasm': 'application/wasm',
  '.css': 'text/css', '.json': 'application/json', '.png': 'image/png', '.svg': 'image/svg+xml',
};

export async function serveDist() {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url, 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(DIST, path.endsWith('/') ? join(path, 'index.html') : path);
    try {
      const body = await readFile(file);
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
      res.end(body);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((ok) => server.close(ok)) };
}

export async function launch() {
  await mkdir(SHOTS, { recursive: true });
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--disable-quic'],
  });
}

/**
 * Opens a page that records console errors and page errors in `page.problems`.
 * The first visit's card is marked as seen (its local-storage key), so the page
 * runs as a returning visitor's does; `{ firstVisit: true }` leaves storage empty.
 * `options` go to the browser context too (`hasTouch`, `colorScheme`, ...).
 */
export async function openPage(browser, url, viewport = { width: 1280, height: 720 }, { firstVisit = false, ...options } = {}) {
  const page = await browser.newPage({ viewport, ...options });
  page.problems = [];
  page.on('console', (m) => { if (m.type() === 'error') page.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => page.problems.push(`pageerror: ${e.message}`));
  if (!firstVisit) await page.addInitScript(() => localStorage.setItem('kafka-sim-seen', '1'));
  await page.goto(url);
  await page.waitForSelector('#app[data-ready="true"]', { timeout: 20000 });
  return page;
}

/** Counts distinct colours on a canvas: a blank canvas has one. */
export async function canvasColours(page, selector) {
  return page.$eval(selector, (c) => {
    const ctx = c.getContext('2d');
    const { data } = ctx.getImageData(0, 0, c.width, c.height);
    const seen = new Set();
    for (let i = 0; i < data.length; i += 4 * 7) seen.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
    return seen.size;
  });
}

export async function simMicros(page) {
  return Number(await page.getAttribute('#app', 'data-sim-us'));
}
