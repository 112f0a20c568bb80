// Accessibility as a class meets it: axe-core finds no critical or serious
// violation on the main page, a lesson step, the dark theme, presentation mode
// and the Chinese page; the keyboard help is a real modal dialog; a first visit
// opens paused with a card that comes once; every control is a target of at
// least 24x24 CSS px (44 with a coarse pointer).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { serveDist, launch, openPage, simMicros, SHOTS } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

/** Pauses the run (so the page holds still), then runs axe-core on the whole page. */
async function axe(page) {
  const t = await simMicros(page);
  await page.waitForTimeout(400);
  const modal = await page.evaluate(() => !!document.querySelector('dialog[open]'));
  if (!modal && await simMicros(page) !== t) await page.locator('.playbar .play').click();
  await page.waitForTimeout(300);
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.length, first: v.nodes[0]?.target.join(' '), why: v.nodes[0]?.failureSummary }));
}

function assertClean(name, violations) {
  const bad = violations.filter((v) => v.impact === 'critical' || v.impact === 'serious');
  console.log(`axe ${name}: ${violations.length} rules violated (${bad.length} critical or serious): ${violations.map((v) => `${v.id}/${v.impact}x${v.nodes}`).join(', ') || 'none'}`);
  assert.deepEqual(bad, [], `${name}: critical or serious axe violations`);
}

const PAGES = [
  // After a broker kill: a dead broker's chips, the under-replicated badge, the event log.
  ['main page', '', {}, 'kill'],
  ['lesson step', '?lesson=first-join&step=4', {}, null],
  ['dark theme', '', { colorScheme: 'dark' }, null],
  ['presentation mode', '?lesson=first-join&step=4', {}, 'p'],
  ['Chinese page', '?lang=zh', {}, null],
];

for (const [name, query, options, key] of PAGES) {
  test(`axe-core: no critical or serious violation on the ${name}`, async () => {
    const page = await openPage(browser, server.url + query, { width: 1280, height: 720 }, options);
    if (query.includes('lang=zh')) await page.waitForFunction(() => document.querySelector('#app').dataset.lang === 'zh');
    if (query.includes('lesson')) await page.waitForSelector('section.lesson');
    await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 2e6 || document.querySelector('section.lesson'));
    if (key === 'kill') {
      await page.getByRole('button', { name: 'Kill broker 0' }).click();
      await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 6e6);
    } else if (key) {
      await page.keyboard.press(key);
      await page.waitForFunction(() => document.documentElement.dataset.present === 'true');
    }
    assertClean(name, await axe(page));
    assert.deepEqual(page.problems, []);
    await page.close();
  });
}

test('the keyboard help is a modal dialog: opaque, focus inside, Escape closes it', async () => {
  const page = await openPage(browser, server.url);
  await page.keyboard.press(' ');
  await page.keyboard.press('?');
  const dialog = page.getByRole('dialog', { name: 'Keyboard shortcuts' });
  await dialog.waitFor();
  assert.equal(await dialog.getAttribute('aria-modal'), 'true');
  const bg = await dialog.evaluate((d) => getComputedStyle(d).backgroundColor);
  assert.match(bg, /^rgb\(/, `the dialog's background is not opaque: ${bg}`);
  assert.ok(await page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]')), 'focus did not move into the dialog');
  // Tab stays inside (the page behind is inert).
  for (let i = 0; i < 4; i++) await page.keyboard.press('Tab');
  assert.ok(await page.evaluate(() => !document.activeElement || document.activeElement === document.body || !!document.activeElement.closest('[role="dialog"]')), 'Tab left the dialog');
  await page.screenshot({ path: join(SHOTS, 'help-dialog-1280x720.png') });
  assertClean('help dialog', await axe(page));
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  // The help key opens it again from the button too.
  await page.getByRole('button', { name: 'Keyboard shortcuts' }).click();
  await dialog.waitFor();
  await dialog.getByRole('button', { name: 'Close' }).click();
  await dialog.waitFor({ state: 'detached' });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a first visit starts paused with a card that teaches, once', async () => {
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  const page = await context.newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(server.url);
  await page.waitForSelector('#app[data-ready="true"]');
  const card = page.getByRole('dialog', { name: 'Welcome to kafka-sim' });
  await card.waitFor();
  assert.equal(await card.getAttribute('aria-modal'), 'true');
  for (const text of ['Start lesson 1', 'Play freely']) await card.getByRole('button', { name: text }).waitFor();
  assert.equal(await card.locator('ol li').count(), 3, 'three things to look at');
  assert.ok(await page.evaluate(() => !!document.activeElement?.closest('[role="dialog"]')), 'focus is not in the card');
  const t0 = await simMicros(page);
  await page.waitForTimeout(600);
  assert.equal(await simMicros(page), t0, 'the page runs behind the card');
  await page.screenshot({ path: join(SHOTS, 'first-visit-1280x720.png') });
  assertClean('first-visit card', await axe(page));
  await card.getByRole('button', { name: 'Play freely' }).click();
  await card.waitFor({ state: 'detached' });
  await page.waitForFunction((t) => Number(document.querySelector('#app').dataset.simUs) > t, t0);
  // Never again in this browser.
  await page.reload();
  await page.waitForSelector('#app[data-ready="true"]');
  await page.waitForTimeout(500);
  assert.equal(await page.getByRole('dialog').count(), 0, 'the card came back');
  await context.close();

  // "Start lesson 1" opens the first lesson; a link skips the card.
  const second = await browser.newContext({ viewport: { width: 390, height: 844 }, hasTouch: true, isMobile: true });
  const phone = await second.newPage();
  await phone.goto(server.url);
  const card2 = phone.getByRole('dialog', { name: 'Welcome to kafka-sim' });
  await card2.waitFor();
  await phone.screenshot({ path: join(SHOTS, 'first-visit-390x844.png') });
  await card2.getByRole('button', { name: 'Start lesson 1' }).click();
  await phone.getByRole('region', { name: 'Lesson' }).waitFor();
  await phone.screenshot({ path: join(SHOTS, 'first-lesson-390x844.png') });
  await second.close();
  const third = await browser.newContext();
  const linked = await third.newPage();
  await linked.goto(`${server.url}?lesson=first-join&step=2`);
  await linked.waitForSelector('section.lesson');
  assert.equal(await linked.getByRole('dialog').count(), 0, 'a lesson link showed the card');
  await third.close();
  assert.deepEqual(problems, []);
});

/** Every visible button, select and input that is smaller than `min` CSS px either way. */
async function smallTargets(page, min) {
  return page.evaluate((min) => {
    const out = [];
    let smallest = Infinity;
    for (const el of document.querySelectorAll('button, select, input, [role="button"]')) {
      if (el.type === 'hidden' || el.closest('[hidden], dialog:not([open])')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (getComputedStyle(el).visibility === 'hidden') continue;
      smallest = Math.min(smallest, r.width, r.height);
      if (r.width < min - 0.01 || r.height < min - 0.01) {
        out.push(`${el.tagName.toLowerCase()} "${el.getAttribute('aria-label') ?? el.textContent.trim().slice(0, 30)}" ${r.width.toFixed(1)}x${r.height.toFixed(1)}`);
      }
    }
    return { small: out, smallest };
  }, min);
}

test('every control is at least 24x24 px, and 44x44 on a touch screen', async () => {
  for (const [viewport, min, options, query] of [
    [{ width: 1280, height: 720 }, 24, {}, ''],
    [{ width: 1280, height: 720 }, 24, {}, '?lesson=first-join&step=4'],
    [{ width: 1024, height: 768 }, 24, {}, '?lang=zh'],
    [{ width: 390, height: 844 }, 44, { hasTouch: true, isMobile: true }, ''],
  ]) {
    const page = await openPage(browser, server.url + query, viewport, options);
    await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 2e6 || document.querySelector('section.lesson'));
    // Open what opens: a broker's details, the menu on a phone.
    const menu = page.locator('button.menu');
    if (await menu.isVisible()) await menu.click();
    await page.locator('.broker .bname, .broker button').first().click().catch(() => {});
    const { small, smallest } = await smallTargets(page, min);
    console.log(`controls at ${viewport.width}x${viewport.height}${query}: smallest side ${smallest.toFixed(1)} px (minimum ${min})`);
    assert.deepEqual(small, [], `controls under ${min}x${min} px at ${viewport.width}x${viewport.height}${query}`);
    assert.deepEqual(page.problems, []);
    await page.close();
  }
});

test('on a phone the controls fold behind one button and a play bar stays pinned', async () => {
  const page = await openPage(browser, server.url, { width: 390, height: 844 }, { hasTouch: true, isMobile: true });
  const menu = page.getByRole('button', { name: 'Menu' });
  await menu.waitFor();
  assert.equal(await menu.getAttribute('aria-expanded'), 'false');
  assert.equal(await page.getByRole('combobox', { name: 'Scenario' }).isVisible(), false, 'the scenario menu shows before the menu opens');
  // The first screen shows the cluster, not a wall of controls.
  const brokers = await page.locator('section[aria-label="Brokers"], .brokers').first().boundingBox();
  assert.ok(brokers && brokers.y < 844, `the cluster starts ${brokers?.y} px down`);
  await page.mouse.wheel(0, 1500);
  await page.waitForTimeout(300);
  const bar = await page.locator('.playbar').boundingBox();
  assert.ok(bar && bar.y >= -1 && bar.y < 844, `the play bar scrolled away (${bar?.y})`);
  await page.screenshot({ path: join(SHOTS, 'phone-scrolled-390x844.png') });
  await page.evaluate(() => window.scrollTo(0, 0));
  await menu.click();
  assert.equal(await menu.getAttribute('aria-expanded'), 'true');
  await page.getByRole('combobox', { name: 'Scenario' }).waitFor();
  await page.screenshot({ path: join(SHOTS, 'phone-menu-390x844.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});
