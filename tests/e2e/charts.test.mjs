// Issue 15, the charts: labels that never overlap or leave the plot, legends
// outside it, spikes cut with their value, series readable on both themes, a
// keyboard stop on each chart that reads its values out, PNG and CSV saving, and
// presentation mode's 2x2 grid with text sized to the screen. Screenshots of the
// charts at every size, theme and language go to target/screenshots/charts-*.png.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readFile } from 'node:fs/promises';
import { serveDist, launch, openPage, SHOTS } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

// The moment of the issue, as a shared link (the same run every time): broker 0
// killed at 6 s, a consumer added at 20 s and another at 21 s, paused at 40 s.
const RUN = {
  preset: 'orders',
  actions: [
    { at_us: 6000000, action: 'kill_broker', broker: 0 },
    { at_us: 20000000, action: 'add_consumer', group: 'billing' },
    { at_us: 21000000, action: 'add_consumer', group: 'billing' },
  ],
  t_us: 40000000,
};
const link = (query = '', run = RUN) => `${server.url}${query}#run=1.${Buffer.from(JSON.stringify(run)).toString('base64url')}`;

/** Opens the outage run and waits until it is replayed, paused, and every chart shows that moment. */
async function openOutage(query, viewport) {
  const page = await openPage(browser, link(query), viewport);
  await page.waitForFunction(() => document.querySelector('#app').dataset.simUs === '40000000' && document.querySelectorAll('canvas.chart').length >= 4, null, { timeout: 60000 });
  await settled(page);
  return page;
}

/** Waits until every chart is drawn at the paused moment and at its canvas's current size. */
async function settled(page) {
  try {
    await page.waitForFunction(() => {
      const dpr = Math.min(Math.max(window.devicePixelRatio, 1), 3);
      return [...document.querySelectorAll('canvas.chart')].every((c) => c.dataset.layout && c.dataset.drawnUs === '40000000'
        && Math.abs(c.width - Math.floor(c.clientWidth * dpr)) <= 1 && Math.abs(c.height - Math.floor(c.clientHeight * dpr)) <= 1);
    }, null, { timeout: 20000 });
  } catch (e) {
    const state = await page.evaluate(() => [document.querySelector('#app').dataset.simUs, ...[...document.querySelectorAll('canvas.chart')]
      .map((c) => `drawn ${c.dataset.drawnUs} ${c.width}x${c.height} for ${c.clientWidth}x${c.clientHeight}`)].join('; '));
    throw new Error(`charts not drawn at the paused moment and size: ${state}`, { cause: e });
  }
}

const layouts = (page) => page.$$eval('canvas.chart', (cs) => cs.map((c) => ({ name: c.getAttribute('aria-label').split(';')[0], ...JSON.parse(c.dataset.layout) })));

const overlaps = (a, b) => a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3];
const inside = (a, b) => a[0] >= b[0] - 0.5 && a[2] <= b[2] + 0.5 && a[1] >= b[1] - 0.5 && a[3] <= b[3] + 0.5;

/** No label over another or outside its plot; legend and key outside the plot. */
function assertTidy(charts, where) {
  for (const c of charts) {
    const at = `${where}, ${c.name}`;
    c.labels.forEach((l, i) => {
      assert.ok(inside(l.box, c.plot), `${at}: label "${l.text}" ${l.box} leaves the plot ${c.plot}`);
      for (const m of c.labels.slice(i + 1)) assert.ok(!overlaps(l.box, m.box), `${at}: labels "${l.text}" and "${m.text}" overlap`);
      if (c.legend) assert.ok(!overlaps(l.box, c.legend), `${at}: label "${l.text}" under the legend`);
    });
    if (c.legend) assert.ok(!overlaps(c.legend, c.plot), `${at}: the legend ${c.legend} is over the plot ${c.plot}`);
    if (c.key) assert.ok(!overlaps(c.key, c.plot), `${at}: the marker key is over the plot`);
  }
}

/** Sets the theme with the Theme menu (by its option, so it works in every language);
 * on a phone the menu is behind the Menu button, opened first and closed after. */
async function theme(page, value) {
  const menu = page.locator('button.menu');
  const folded = await menu.isVisible() && await menu.getAttribute('aria-expanded') === 'false';
  if (folded) await menu.click();
  await page.locator('select:has(option[value="dark"])').first().selectOption(value);
  if (folded) await menu.click();
  await page.waitForFunction((v) => document.documentElement.dataset.theme === v, value);
  await settled(page);
}

/** How many pixels of the canvas have exactly this colour. */
const pixelsOf = (page, selector, [r, g, b]) => page.$eval(selector, (c, [r, g, b]) => {
  const { data } = c.getContext('2d').getImageData(0, 0, c.width, c.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) if (data[i] === r && data[i + 1] === g && data[i + 2] === b) n++;
  return n;
}, [r, g, b]);

const SIZES = [[1280, 720], [1024, 768], [390, 844]];

for (const lang of ['en', 'zh']) {
  test(`charts at every size and theme (${lang}): labels tidy, legends outside the plot, screenshots`, async () => {
    const page = await openOutage(lang === 'zh' ? '?lang=zh' : '', { width: 1280, height: 720 });
    if (lang === 'zh') await page.waitForFunction(() => document.querySelector('#app').dataset.lang === 'zh');
    for (const [width, height] of SIZES) {
      await page.setViewportSize({ width, height });
      for (const t of ['light', 'dark']) {
        await theme(page, t);
        const charts = await layouts(page);
        assert.ok(charts.length >= 4);
        assertTidy(charts, `${width}x${height} ${t} ${lang}`);
        // The charts with more than one series have a legend, and every chart's text is at least 12 px.
        for (const c of charts) assert.ok(c.font_px >= 12, `${c.name}: ${c.font_px} px text`);
        assert.ok(charts.filter((c) => c.legend).length >= 3, 'legends missing');
        // The dark theme draws "produced" in light blue, not navy on navy (light theme: blue-600).
        const produced = t === 'dark' ? [96, 165, 250] : [37, 99, 235];
        assert.ok(await pixelsOf(page, 'canvas.chart', produced) > 50, `${t}: the produced line is not drawn in ${produced}`);
        const charts_ = page.locator('section.charts');
        await charts_.scrollIntoViewIfNeeded();
        await charts_.screenshot({ path: join(SHOTS, `charts-${width}x${height}-${t}-${lang}.png`) });
        await page.screenshot({ path: join(SHOTS, `page-${width}x${height}-${t}-${lang}.png`), fullPage: true });
      }
    }
    // Large type alone (the back row): one chart per row, text grown with it.
    await page.setViewportSize({ width: 1280, height: 720 });
    await theme(page, 'light');
    await page.keyboard.press('l');
    await page.waitForFunction(() => document.documentElement.hasAttribute('data-large'));
    await settled(page);
    const large = await layouts(page);
    assertTidy(large, `large type ${lang}`);
    for (const c of large) assert.ok(c.font_px >= 16, `${c.name}: ${c.font_px} px text in large type`);
    await page.locator('section.charts').screenshot({ path: join(SHOTS, `charts-1280x720-large-light-${lang}.png`) });
    await page.keyboard.press('l');
    // Presentation mode at 1920x1080 (always dark).
    await page.setViewportSize({ width: 1920, height: 1080 });
    await page.keyboard.press('p');
    await page.waitForFunction(() => document.documentElement.hasAttribute('data-present'));
    await settled(page);
    assertTidy(await layouts(page), `presentation 1920x1080 ${lang}`);
    await page.locator('section.charts').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(SHOTS, `charts-1920x1080-present-${lang}.png`) });
    assert.deepEqual(page.problems, []);
    await page.close();
  });
}

// A one-second burst: the producer at 30 000/s from 10 s to 11 s, then 2000/s again.
const BURST = {
  preset: 'orders',
  actions: [
    { at_us: 10000000, action: 'set_producer', producer: 'checkout', records_per_sec: 30000 },
    { at_us: 11000000, action: 'set_producer', producer: 'checkout', records_per_sec: 2000 },
  ],
  t_us: 40000000,
};

test('a lone spike is cut with its value written above it; the steady level keeps its height', async () => {
  const page = await openPage(browser, link('', BURST));
  await page.waitForFunction(() => document.querySelector('#app').dataset.simUs === '40000000', null, { timeout: 60000 });
  await settled(page);
  const [throughput] = await layouts(page);
  assert.match(throughput.name, /^Throughput chart/);
  assert.ok(throughput.clipped_at > 0, `the burst was not cut: ${JSON.stringify(throughput)}`);
  const spike = throughput.labels.find((l) => l.text.startsWith('↑ '));
  assert.ok(spike, `no value on the cut spike: ${JSON.stringify(throughput.labels)}`);
  const value = Number(spike.text.slice(2).replace('k', '')) * (spike.text.endsWith('k') ? 1000 : 1);
  assert.ok(value >= 25000, `the spike reads ${spike.text}`);
  // The axis stops well under the spike; 2000/s (the producer's steady rate) keeps a good part of the height.
  assert.ok(throughput.y_top < value / 3, `the axis reaches ${throughput.y_top}`);
  assert.ok(2000 / throughput.y_top > 0.25, `2000/s is ${(2000 / throughput.y_top * 100).toFixed(0)}% of the height`);
  assertTidy([throughput], 'burst');
  await page.locator('section.charts').screenshot({ path: join(SHOTS, 'charts-spike-1280x720-light-en.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('each chart is a tab stop whose values are read out on focus', async () => {
  const page = await openOutage('', { width: 1280, height: 720 });
  const readout = page.locator('p.hover[aria-live="polite"]');
  // Tab from the top of the page until a chart has the focus: it is reachable by keyboard alone.
  let focused = null;
  for (let i = 0; i < 400 && !focused; i++) {
    await page.keyboard.press('Tab');
    focused = await page.evaluate(() => (document.activeElement?.matches('canvas.chart') ? document.activeElement.getAttribute('aria-label') : null));
  }
  assert.match(focused ?? '', /^Throughput chart/, 'Tab never reached the throughput chart');
  assert.match(await readout.textContent(), /^Throughput at 40\.0 s: produced \d[\d.]*k? · acknowledged \d[\d.]*k? · consumed \d[\d.]*k? \(records\/s\)$/);
  // Tab on past its save buttons to the next chart: its values replace the first's.
  for (let i = 0; i < 3; i++) await page.keyboard.press('Tab');
  assert.match(await page.evaluate(() => document.activeElement.getAttribute('aria-label')), /^Latency chart/);
  assert.match(await readout.textContent(), /^Latency at 40\.0 s: produce p99 [\d.]+k? · /);
  // Focus is visible (an outline), and leaving the chart restores the hint.
  assert.notEqual(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none');
  await page.keyboard.press('Shift+Tab');
  assert.match(await readout.textContent(), /^Point at a chart/);
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('"Save chart as PNG" and "Download data as CSV" save the chart and its data', async () => {
  const page = await openOutage('', { width: 1280, height: 720 });
  const png = page.getByRole('button', { name: 'Save chart as PNG: Throughput' });
  const csv = page.getByRole('button', { name: 'Download data as CSV: Consumer lag' });
  // Visible beside the charts, not in a menu, and at least 24 px tall.
  for (const b of [png, csv]) {
    assert.ok(await b.isVisible());
    assert.ok((await b.boundingBox()).height >= 24);
  }
  const [pngDownload] = await Promise.all([page.waitForEvent('download'), png.click()]);
  assert.equal(pngDownload.suggestedFilename(), 'kafka-sim-throughput-40s.png');
  const image = await readFile(await pngDownload.path());
  assert.equal(image.subarray(1, 4).toString(), 'PNG');
  const canvas = await page.$eval('canvas.chart', (c) => [c.width, c.height]);
  assert.deepEqual([image.readUInt32BE(16), image.readUInt32BE(20)], canvas, 'the PNG is not the chart as drawn');

  const [csvDownload] = await Promise.all([page.waitForEvent('download'), csv.click()]);
  assert.equal(csvDownload.suggestedFilename(), 'kafka-sim-consumer-lag-40s.csv');
  const lines = (await readFile(await csvDownload.path(), 'utf8')).trim().split('\n');
  assert.equal(lines[0], 'simulated time (s),consumer lag (records)');
  const rows = lines.slice(1).map((l) => l.split(',').map(Number));
  assert.ok(rows.length >= 38 && rows.length <= 41, `${rows.length} rows for 40 s`);
  for (const r of rows) assert.ok(r.length === 2 && r.every(Number.isFinite), `bad row ${r}`);
  assert.ok(rows.every((r, i) => i === 0 || r[0] > rows[i - 1][0]), 'times do not ascend');
  assert.ok(rows.at(-1)[0] <= 40 && rows.at(-1)[0] >= 39, `the last row is at ${rows.at(-1)[0]} s`);
  assert.ok(rows.some((r) => r[1] > 0), 'no lag at all');

  // Side by side: run B's columns after run A's.
  const twin = await openPage(browser, link('', { ...RUN, compare: 'acks1' }));
  await twin.waitForFunction(() => document.querySelector('#app').dataset.simUs === '40000000', null, { timeout: 60000 });
  const [both] = await Promise.all([twin.waitForEvent('download'), twin.getByRole('button', { name: 'Download data as CSV: Throughput' }).click()]);
  const head = (await readFile(await both.path(), 'utf8')).split('\n')[0];
  await settled(twin);
  assertTidy(await layouts(twin), 'side by side');
  await twin.locator('section.charts').screenshot({ path: join(SHOTS, 'charts-side-by-side-1280x720-light-en.png') });
  assert.equal(head, 'simulated time (s),produced (records/s),acknowledged (records/s),consumed (records/s),B: produced (records/s),B: acknowledged (records/s),B: consumed (records/s)');
  assert.deepEqual(twin.problems, []);
  await twin.close();
  assert.deepEqual(page.problems, []);
  await page.close();
});

for (const [width, height] of [[1024, 768], [1920, 1080]]) {
  test(`presentation mode at ${width}x${height}: the four charts 2x2 on the screen, text readable`, async () => {
    const page = await openOutage('', { width, height });
    await page.keyboard.press('p');
    await page.waitForFunction(() => document.documentElement.hasAttribute('data-present'));
    await settled(page);
    const boxes = await page.$$eval('canvas.chart', (cs) => cs.slice(0, 4).map((c) => { const r = c.getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; }));
    const [a, b, c, d] = boxes;
    // Two per row, the rows one above the other, each chart the same size.
    assert.ok(Math.abs(a[1] - b[1]) < 1 && Math.abs(c[1] - d[1]) < 1, `rows not aligned: ${JSON.stringify(boxes)}`);
    assert.ok(Math.abs(a[0] - c[0]) < 1 && Math.abs(b[0] - d[0]) < 1 && b[0] > a[0] + a[2] - 1, `columns not aligned: ${JSON.stringify(boxes)}`);
    assert.ok(c[1] >= a[1] + a[3], 'the second row overlaps the first');
    // Sized to the screen: each about half its width, and both rows on one screen.
    for (const [, , w] of boxes) assert.ok(w > width * 0.4 && w <= width / 2, `a chart ${w} px wide on a ${width} px screen`);
    assert.ok(c[1] + c[3] - a[1] <= height, `the two rows take ${c[1] + c[3] - a[1]} px of ${height}`);
    // Readable text: the chart reports its tick size.
    const charts = await layouts(page);
    for (const ch of charts.slice(0, 4)) assert.ok(ch.font_px >= 16, `${ch.name}: ${ch.font_px} px text in presentation mode`);
    assertTidy(charts, `presentation ${width}x${height}`);
    await page.locator('section.charts').evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(SHOTS, `charts-${width}x${height}-present-en.png`) });
    // The rebalance diagram's text grows with the page's: at least 16 px on the screen,
    // and the diagram fits its card (no sideways scrolling on a projector).
    const diagram = await page.$eval('.timeline-svg', (svg) => {
      const r = svg.getBoundingClientRect();
      const px = (r.width / svg.viewBox.baseVal.width) * parseFloat(getComputedStyle(svg.querySelector('text')).fontSize);
      const card = svg.closest('section').getBoundingClientRect();
      return { px, right: r.right, card: card.right };
    });
    assert.ok(diagram.px >= 16, `the rebalance diagram's text is ${diagram.px.toFixed(1)} px`);
    assert.ok(diagram.right <= diagram.card, `the rebalance diagram (to ${diagram.right}) leaves its card (${diagram.card})`);
    await page.locator('.timeline-svg').evaluate((el) => el.closest('section').scrollIntoView({ block: 'start' }));
    await page.screenshot({ path: join(SHOTS, `rebalance-${width}x${height}-present-en.png`) });
    await page.screenshot({ path: join(SHOTS, `page-${width}x${height}-present-en.png`), fullPage: true });
    assert.deepEqual(page.problems, []);
    await page.close();
  });
}

// The README's picture: 1280x720, broker 0 killed at 6 s and the run paused at
// 20 s: its replicas out of sync, leaderships moved, the fault on every chart.
test('the README screenshot', async () => {
  const run = { preset: 'orders', actions: [{ at_us: 6000000, action: 'kill_broker', broker: 0 }], t_us: 20000000 };
  const page = await openPage(browser, link('', run), { width: 1280, height: 720 });
  await page.waitForFunction(() => document.querySelector('#app').dataset.simUs === '20000000', null, { timeout: 60000 });
  await page.locator('select:has(option[value="dark"])').first().selectOption('light');
  await page.waitForFunction(() => document.documentElement.dataset.theme === 'light');
  await page.waitForFunction(() => [...document.querySelectorAll('canvas.chart')].every((c) => c.dataset.drawnUs === '20000000'));
  await page.evaluate(() => window.scrollTo(0, document.querySelector('.toolbar').getBoundingClientRect().top + window.scrollY - 8));
  await page.screenshot({ path: join(SHOTS, 'readme-1280x720.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});

// On a phone a chart a lesson step points at is square: tall enough to read its plot.
test('on a phone, a chart a lesson step points at is tall enough to read', async () => {
  const page = await openPage(browser, `${server.url}?lesson=first-join&step=6`, { width: 390, height: 844 });
  const chart = page.locator('canvas.chart.highlight');
  await chart.waitFor({ timeout: 30000 });
  await page.waitForFunction(() => document.querySelector('canvas.chart.highlight')?.dataset.layout);
  const { width, height } = await chart.boundingBox();
  assert.ok(height >= 300 && height >= 0.95 * width, `the lesson's chart is ${width}x${height}`);
  const [layout] = await page.$$eval('canvas.chart.highlight', (cs) => cs.map((c) => JSON.parse(c.dataset.layout)));
  assert.ok(layout.plot[3] - layout.plot[1] >= 180, `its plot is ${layout.plot[3] - layout.plot[1]} px tall`);
  await chart.scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(SHOTS, 'lesson-chart-390x844-en.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});
