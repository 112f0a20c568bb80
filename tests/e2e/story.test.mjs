// The classroom story from start to end, as a user drives it: load a preset,
// play, kill the broker leading orders-0 by its accessible name, watch the
// leadership move and the fault marked on the throughput chart, restart it and
// watch it rejoin the ISR, add a consumer and see the rebalance in the timeline,
// pause, step, rewind to before the kill and see the old leader again, then load
// a broken scenario file and read the error. A screenshot is written per step.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdir, readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import { serveDist, launch, openPage, simMicros, SHOTS } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const shot = (page, name) => page.screenshot({ path: join(SHOTS, `story-${name}-1280x720.png`) });

/** The broker whose cluster box shows `name` (e.g. "orders-0") as a leader replica. */
const leaderOf = (page, name) => page.evaluate((n) => {
  for (const b of document.querySelectorAll('.broker')) {
    for (const r of b.querySelectorAll('.replica.leader .rname')) {
      if (r.textContent === n) return Number(b.getAttribute('aria-label').replace('Broker ', ''));
    }
  }
  return null;
}, name);

const waitSim = (page, us) => page.waitForFunction((t) => Number(document.querySelector('#app').dataset.simUs) > t, us, { timeout: 40000 });

test('the whole story: kill the leader, restart, rebalance, rewind, broken file', async () => {
  const page = await openPage(browser, server.url);
  // Load a preset (another one first, so choosing it is a real change).
  const scenario = page.getByRole('combobox', { name: 'Scenario' });
  await scenario.selectOption('steady');
  await scenario.selectOption('orders');
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await waitSim(page, 6e6);
  await shot(page, '1-playing');

  // Kill the broker that leads orders-0.
  const oldLeader = await leaderOf(page, 'orders-0');
  assert.notEqual(oldLeader, null, 'orders-0 has no leader on screen');
  const killedAt = await simMicros(page);
  await page.getByRole('button', { name: `Kill broker ${oldLeader}` }).click();
  await page.getByLabel(`Broker ${oldLeader}`, { exact: true }).locator('.state', { hasText: 'down' }).waitFor();
  // After broker.session.timeout.ms (9 s) the controller fences it and elects a new leader.
  await page.waitForFunction(([n, old]) => {
    for (const b of document.querySelectorAll('.broker')) {
      for (const r of b.querySelectorAll('.replica.leader .rname')) {
        if (r.textContent === n) return b.getAttribute('aria-label') !== `Broker ${old}`;
      }
    }
    return false;
  }, ['orders-0', oldLeader], { timeout: 40000 });
  const newLeader = await leaderOf(page, 'orders-0');
  assert.notEqual(newLeader, oldLeader);
  const throughput = page.getByRole('img', { name: /^Throughput chart/ });
  assert.match(await throughput.getAttribute('aria-label'), /kill broker at \d+\.\d s/);
  await shot(page, '2-leader-moved');

  // Restart it: it comes back as a follower and rejoins the ISR once caught up.
  await page.getByRole('button', { name: `Restart broker ${oldLeader}` }).click();
  const chip = page.getByLabel(`Broker ${oldLeader}`, { exact: true }).getByRole('button', { name: /^orders-0 on broker/ });
  await page.waitForFunction((b) => {
    const box = document.querySelector(`.broker[aria-label="Broker ${b}"]`);
    const r = [...box.querySelectorAll('.replica')].find((x) => x.querySelector('.rname')?.textContent === 'orders-0');
    return r && /in ISR|leader/.test(r.getAttribute('aria-label'));
  }, oldLeader, { timeout: 40000 });
  assert.match(await chip.getAttribute('aria-label'), /(follower in ISR|leader)/);
  await shot(page, '3-rejoined-isr');

  // Add a consumer: the rebalance shows in the timeline and as a chart marker.
  await page.getByRole('button', { name: 'Add consumer to group billing' }).click();
  const timeline = page.getByRole('region', { name: 'Rebalance timeline' });
  await timeline.getByText(/member joined/).waitFor({ timeout: 40000 });
  await page.waitForFunction(() => /rebalance billing( ×\d+)? at/.test(document.querySelector('canvas[aria-label^="Consumer lag chart"]').getAttribute('aria-label')));
  await shot(page, '4-rebalance');

  // Pause, one step, then rewind to before the kill: the old leader is back.
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const t = await simMicros(page);
  await page.getByRole('button', { name: 'Step one event' }).click();
  await page.getByRole('status').filter({ hasText: 'one event' }).waitFor();
  assert.ok(await simMicros(page) >= t);
  const slider = page.getByRole('slider', { name: /Time/ });
  await slider.evaluate((el, v) => { el.value = String(v); el.dispatchEvent(new Event('change', { bubbles: true })); }, killedAt - 1e6);
  await page.getByRole('status').filter({ hasText: 'rewound' }).waitFor();
  assert.ok(await simMicros(page) < killedAt);
  assert.equal(await leaderOf(page, 'orders-0'), oldLeader, 'the old leader is not back after rewinding');
  await shot(page, '5-rewound');

  // A broken scenario file: a one-line error, and the running simulation stays.
  const before = await simMicros(page);
  await page.getByRole('button', { name: 'Set up scenario' }).click();
  await page.getByLabel('Load scenario file').setInputFiles({
    name: 'broken.json', mimeType: 'application/json',
    buffer: Buffer.from('{"seed": 1, "cluster": {"brokers": 3}, "topics": [{"name": "t", "replication_factor": 5}]}'),
  });
  const alert = page.getByRole('alert');
  await alert.waitFor();
  const text = await alert.textContent();
  assert.match(text, /^broken\.json: topic t: replication_factor 5 is larger than the 3 available brokers$/);
  assert.equal(await simMicros(page), before, 'the running simulation was replaced');
  await shot(page, '6-broken-file');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the scenario form edits the JSON, rejects bad values inline, runs a valid draft and downloads it', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('button', { name: 'Set up scenario' }).click();
  const setup = page.getByRole('region', { name: 'Scenario setup' });
  await setup.getByLabel('brokers', { exact: true }).fill('5');
  await setup.getByLabel('brokers', { exact: true }).press('Tab');
  assert.match(await setup.getByLabel('Scenario JSON').inputValue(), /"brokers": 5/);
  await setup.getByLabel('replication.factor').fill('7');
  await setup.getByLabel('replication.factor').press('Tab');
  assert.match(await setup.getByRole('alert').textContent(), /replication_factor 7 is larger than the 5 available brokers/);
  await setup.getByLabel('replication.factor').fill('3');
  await setup.getByLabel('replication.factor').press('Tab');
  assert.equal(await setup.getByRole('alert').count(), 0);
  await setup.getByRole('button', { name: 'Run this scenario' }).click();
  await page.getByLabel('Broker 4', { exact: true }).waitFor();
  assert.equal(await page.locator('.broker').count(), 5);
  // Download: the link carries the same JSON (a blob: URL, read back in the page).
  const href = await setup.getByRole('link', { name: 'Download JSON' }).getAttribute('href');
  assert.match(href, /^blob:/);
  const downloaded = await page.evaluate(async (url) => (await fetch(url)).json(), href);
  assert.equal(downloaded.cluster.brokers, 5);
  await page.screenshot({ path: join(SHOTS, 'setup-1280x720.png'), fullPage: true });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a one-way cut is drawn with its direction and heals', async () => {
  const page = await openPage(browser, server.url);
  const controls = page.getByRole('region', { name: 'Cluster controls' });
  await controls.getByRole('combobox', { name: 'Cut from node' }).selectOption('0');
  await controls.getByRole('combobox', { name: 'Cut to node' }).selectOption('2');
  await controls.getByRole('checkbox', { name: 'One way only' }).check();
  await controls.getByRole('button', { name: 'Cut the network' }).click();
  const map = controls.getByRole('img', { name: /^Network map/ });
  await page.waitForFunction(() => document.querySelector('svg.netmap').getAttribute('aria-label').includes('0 → 2'));
  assert.equal(await controls.locator('line.cut.one-way').count(), 1);
  await page.screenshot({ path: join(SHOTS, 'one-way-cut-1280x720.png'), fullPage: true });
  await controls.getByRole('button', { name: 'Heal network' }).click();
  await page.waitForFunction(() => document.querySelector('svg.netmap').getAttribute('aria-label') === 'Network map: no cuts');
  assert.equal(await map.locator('line.cut').count(), 0);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('hovering a chart reads out its values; themes and large type switch', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 5e6);
  const canvas = page.getByRole('img', { name: /^Throughput chart/ });
  const box = await canvas.boundingBox();
  await page.mouse.move(box.x + box.width * 0.6, box.y + box.height * 0.5);
  await page.locator('.hover', { hasText: /^Throughput at \d+\.\d s: produced/ }).waitFor();
  await page.getByRole('combobox', { name: 'Theme' }).selectOption('dark');
  assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), 'dark');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  assert.equal(bg, 'rgb(11, 18, 32)');
  await page.getByRole('button', { name: 'Large type' }).click();
  assert.equal(await page.evaluate(() => getComputedStyle(document.documentElement).fontSize), '21px');
  await page.screenshot({ path: join(SHOTS, 'dark-large-1280x720.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});

// Budget of issue 13: 512 KiB gzipped (it was 400 KiB before the restructure).
test('the release wasm stays within 512 KiB gzipped', async () => {
  const dist = join(import.meta.dirname, '..', '..', 'dist');
  const wasm = (await readdir(dist)).find((f) => f.endsWith('.wasm'));
  const bytes = await readFile(join(dist, wasm));
  const gz = gzipSync(bytes, { level: 9 }).length;
  console.log(`wasm ${bytes.length} bytes raw, ${gz} gzipped`);
  assert.ok(gz <= 512 * 1024, `wasm is ${gz} bytes gzipped`);
});
