// Faults and group actions from the page, by accessible name, as a user (or a
// screen reader) would: the cluster view and the event log must answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serveDist, launch, openPage, SHOTS } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });


test('killing a broker moves its leaderships after fencing, and restarting brings it back', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 4e6);
  const broker0 = page.getByLabel('Broker 0', { exact: true });
  const leadersBefore = await broker0.locator('.replica.leader').count();
  assert.ok(leadersBefore > 0, 'broker 0 leads nothing to begin with');
  await page.getByRole('button', { name: 'Kill broker 0' }).click();
  // The kill's own time, from the status line (the clock runs on while the test reads it).
  const status = await page.getByRole('status').filter({ hasText: /^kill broker at / }).textContent();
  const killedAt = Number(status.match(/at ([\d.]+) s/)[1]);
  await broker0.locator('.state', { hasText: 'down' }).waitFor();
  // Fencing takes broker.session.timeout.ms (9 s); then leaders move.
  await page.waitForFunction((t) => Number(document.querySelector('#app').dataset.simUs) / 1e6 > t + 12, killedAt, { timeout: 30000 });
  assert.equal(await broker0.locator('.replica.leader').count(), 0, 'broker 0 still leads after fencing');
  await page.getByRole('searchbox', { name: 'Filter events' }).fill('fenced');
  await page.locator('.events li', { hasText: 'broker 0 fenced' }).first().waitFor();
  await page.screenshot({ path: join(SHOTS, 'broker-killed-1280x720.png') });
  await page.getByRole('button', { name: 'Restart broker 0' }).click();
  await broker0.locator('.state', { hasText: 'up' }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('adding a consumer rebalances the group', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  const group = page.getByRole('region', { name: 'Consumer groups' });
  await group.getByText(/billing · Stable/).waitFor({ timeout: 30000 });
  assert.equal(await group.locator('.member').count(), 3);
  await page.getByRole('button', { name: 'Add consumer to group billing' }).click();
  assert.equal(await group.locator('.member').count(), 4);
  // The new member ends up with partitions once the rebalance completes.
  await page.waitForFunction(() => [...document.querySelectorAll('.member .parts')].every((e) => e.textContent.trim().length > 0), null, { timeout: 30000 });
  // The timeline shows the rebalance the new member caused, step by step.
  const timeline = page.getByRole('region', { name: 'Rebalance timeline' });
  await timeline.getByText(/member joined/).waitFor();
  // The latest rebalance may still be in progress: wait for its steps to arrive.
  await timeline.getByText('JoinGroup').first().waitFor();
  await timeline.getByText(/^assign /).first().waitFor({ timeout: 30000 });
  await page.screenshot({ path: join(SHOTS, 'group-rebalanced-1280x720.png'), fullPage: true });
  // Step back to the group's first join, and forward again to the latest.
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const generation = async () => Number((await timeline.locator('.rb-title').textContent()).match(/generation (\d+)/)[1]);
  const latest = await generation();
  assert.ok(await timeline.getByRole('button', { name: 'Later rebalance' }).isDisabled());
  const earlier = timeline.getByRole('button', { name: 'Earlier rebalance' });
  for (let g = latest - 1; !(await earlier.isDisabled()); g--) {
    await earlier.click();
    await timeline.locator('.rb-title', { hasText: `generation ${g} ` }).waitFor({ timeout: 5000 });
  }
  assert.ok(await generation() < latest);
  await timeline.getByRole('button', { name: 'Later rebalance' }).click();
  await timeline.getByRole('button', { name: 'Follow the latest' }).click();
  await timeline.locator('.rb-title', { hasText: `generation ${latest} ` }).waitFor({ timeout: 5000 });
  await timeline.getByRole('button', { name: 'Follow the latest' }).waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('details open for a broker, a partition and a consumer; a consumer rate change builds lag', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.getByRole('region', { name: 'Consumer groups' }).getByText(/billing · Stable/).waitFor({ timeout: 30000 });
  await page.getByRole('button', { name: 'Details of broker 1' }).click();
  assert.match(await page.getByRole('region', { name: 'Broker 1 details' }).textContent(), /leader of: orders-\d/);
  await page.getByRole('button', { name: /^orders-2 on broker 2/ }).click();
  assert.match(await page.getByRole('region', { name: 'Partition orders-2' }).textContent(), /min.insync.replicas 2/);
  await page.getByRole('button', { name: 'Details of consumer 0 of group billing' }).click();
  assert.match(await page.getByRole('region', { name: 'Consumer 0 of group billing details' }).textContent(), /processes 1500 records\/s/);
  // Slow every member to 10 records/s: the group's lag climbs past what auto commit explains.
  for (const n of [0, 1, 2]) await page.getByRole('combobox', { name: `Rate of consumer ${n} of group billing` }).selectOption('10');
  await page.waitForFunction(() => {
    const h = document.querySelector('.group h3').textContent;
    return Number(h.match(/lag (\d+)/)[1]) > 30000;
  }, null, { timeout: 30000 });
  await page.screenshot({ path: join(SHOTS, 'details-slow-consumers-1280x720.png'), fullPage: true });
  assert.deepEqual(page.problems, []);
  await page.close();
});
