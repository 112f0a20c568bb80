// Playback: pause, one step, next notable event, and rewinding to before a
// fault with the time slider (checkpoints + deterministic re-simulation).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serveDist, launch, openPage, simMicros, SHOTS } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

test('rewind to before a broker kill restores the old leaders; step and next event work', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 8e6, null, { timeout: 30000 });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  const broker0 = page.getByLabel('Broker 0', { exact: true });
  const leadersBefore = await broker0.locator('.replica.leader').count();
  assert.ok(leadersBefore > 0);
  const killedAt = await simMicros(page);
  await page.getByRole('button', { name: 'Kill broker 0' }).click();
  await page.getByRole('button', { name: 'Play', exact: true }).click();
  await page.waitForFunction((t) => Number(document.querySelector('#app').dataset.simUs) > t + 12e6, killedAt, { timeout: 30000 });
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  assert.equal(await broker0.locator('.replica.leader').count(), 0);
  // Drag the time slider back to before the kill.
  const slider = page.getByRole('slider', { name: /Time/ });
  await slider.evaluate((el, t) => { el.value = String(t); el.dispatchEvent(new Event('change', { bubbles: true })); }, killedAt - 1e6);
  await page.getByRole('status').filter({ hasText: 'rewound' }).waitFor();
  assert.ok(await simMicros(page) < killedAt, 'time did not go back');
  assert.equal(await broker0.locator('.state').textContent(), 'up');
  assert.equal(await broker0.locator('.replica.leader').count(), leadersBefore, 'the old leaders are not back');
  await page.screenshot({ path: join(SHOTS, 'rewound-1280x720.png') });
  // One event, then the next notable one, from the keyboard.
  const t1 = await simMicros(page);
  await page.keyboard.press('ArrowRight');
  await page.getByRole('status').filter({ hasText: 'one event' }).waitFor();
  assert.ok(await simMicros(page) >= t1);
  await page.keyboard.press('Shift+ArrowRight');
  await page.waitForFunction(() => !document.querySelector('[role=status]').textContent.includes('one event'));
  await page.keyboard.press('?');
  await page.getByRole('dialog', { name: 'Keyboard shortcuts' }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.close();
});
