// The first page: it mounts, draws the cluster from the engine and a chart on
// the canvas, advances simulated time, and logs no errors.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serveDist, launch, openPage, canvasColours, simMicros, SHOTS } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('page mounts, simulates, and draws the throughput chart', async () => {
  const page = await openPage(browser, server.url);
  assert.match(await page.title(), /kafka-sim/);
  await page.getByRole('heading', { name: 'kafka-sim' }).waitFor();
  // Simulated time moves while playing.
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 3_000_000, null, { timeout: 20000 });
  const colours = await canvasColours(page, 'canvas.chart');
  assert.ok(colours > 4, `canvas looks blank (${colours} colours)`);
  await page.screenshot({ path: join(SHOTS, 'first-page-1280x720.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('cluster view shows every broker with its partition replicas', async () => {
  const page = await openPage(browser, server.url);
  const brokers = page.locator('.broker');
  assert.equal(await brokers.count(), 3);
  // 6 partitions with replication factor 3: 18 replicas, 6 of them leaders.
  assert.equal(await page.locator('.broker .replica').count(), 18);
  assert.equal(await page.locator('.broker .replica.leader').count(), 6);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('pause stops simulated time and play resumes it', async () => {
  const page = await openPage(browser, server.url);
  // Long enough for the charts to be redrawn in turns while playing.
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 6_000_000);
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const t1 = await simMicros(page);
  await page.waitForTimeout(400);
  assert.equal(await simMicros(page), t1, 'time moved while paused');
  // Paused, every chart shows the moment the run stopped at.
  const drawn = await page.evaluate(() => [...document.querySelectorAll('canvas.chart')].map((c) => Number(c.dataset.drawnUs)));
  assert.deepEqual(drawn, drawn.map(() => Math.floor(t1 / 250000) * 250000), `charts drawn at ${drawn}, paused at ${t1}`);
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction((t) => Number(document.querySelector('#app').dataset.simUs) > t, t1);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the page fits a phone width without horizontal scrolling', async () => {
  const page = await openPage(browser, server.url, { width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow}px wider than the phone screen`);
  await page.screenshot({ path: join(SHOTS, 'first-page-390.png'), fullPage: true });
  assert.deepEqual(page.problems, []);
  await page.close();
});
