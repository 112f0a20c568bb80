// Issue 7: every lesson walked forward and back (text, highlight, and the exact
// earlier state restored), a shared link reproducing a run's fingerprint, a
// tampered link falling back cleanly, and the Chinese UI with no English left.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readdirSync } from 'node:fs';
import { serveDist, launch, openPage, simMicros, SHOTS } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const state = (page) => page.evaluate(() => {
  const app = document.querySelector('#app');
  const lesson = document.querySelector('section.lesson');
  return {
    step: lesson?.dataset.step, highlight: lesson?.dataset.highlight, text: lesson?.querySelector('.step-text')?.textContent,
    us: app.dataset.simUs, fingerprint: app.dataset.fingerprint, twin: app.dataset.twinFingerprint,
    cluster: [...document.querySelectorAll('.broker')].map((b) => b.getAttribute('aria-label') + ':' + [...b.querySelectorAll('.replica')].map((r) => r.getAttribute('aria-label')).join('|')).join('/'),
  };
});

test('every lesson walks forward with text and highlight, and back restores each earlier state', async () => {
  const page = await openPage(browser, server.url);
  const select = page.getByRole('combobox', { name: 'Lesson', exact: true });
  // The lessons are fetched after the first render: wait until every file in lessons/ is listed.
  const files = readdirSync(join(import.meta.dirname, '..', '..', 'lessons')).filter((f) => f.endsWith('.json')).length;
  await page.waitForFunction((n) => document.querySelectorAll('select[aria-label="Lesson"] option').length === n + 1, files);
  const values = await select.locator('option').evaluateAll((os) => os.map((o) => o.value).filter((v) => v !== ''));
  assert.equal(values.length, files);
  for (const v of values) {
    await select.selectOption(v);
    const panel = page.getByRole('region', { name: 'Lesson' });
    await panel.waitFor();
    const forward = [];
    for (;;) {
      const s = await state(page);
      assert.ok(s.text && s.text.length > 20, `lesson ${v} step ${s.step}: no text`);
      const lit = await page.locator(`.highlight[data-target="${s.highlight}"]`).count();
      assert.ok(lit > 0, `lesson ${v} step ${s.step}: nothing highlighted for ${s.highlight}`);
      // Every chart shows this step's moment, not an earlier one.
      const drawn = await page.evaluate(() => [...document.querySelectorAll('canvas.chart')].map((c) => Number(c.dataset.drawnUs)));
      const bucket = Math.floor(Number(s.us) / 250000) * 250000;
      assert.ok(drawn.length >= 4 && drawn.every((d) => d === bucket), `lesson ${v} step ${s.step}: charts drawn at ${drawn}, run at ${s.us}`);
      forward.push(s);
      const next = panel.getByRole('button', { name: 'Next step' });
      if (await next.isDisabled()) break;
      await next.click();
      await page.waitForFunction((k) => document.querySelector('section.lesson').dataset.step === String(k), forward.length);
    }
    assert.ok(forward.length >= 3, `lesson ${v} has only ${forward.length} steps`);
    // Back to the first step: each earlier state exactly as it was.
    for (let k = forward.length - 2; k >= 0; k--) {
      await panel.getByRole('button', { name: 'Previous step' }).click();
      await page.waitForFunction((k) => document.querySelector('section.lesson').dataset.step === String(k), k);
      assert.deepEqual(await state(page), forward[k], `lesson ${v}: back to step ${k + 1} differs`);
    }
  }
  assert.deepEqual(page.problems, []);
  await page.close();
});

// Pauses the run, copies its link and opens it in a new page: the replay reaches
// the same moment with the same fingerprint, and no error on the way.
async function reopenFromLink(page, shot) {
  await page.getByRole('button', { name: 'Pause', exact: true }).click();
  await page.getByRole('button', { name: 'Copy link' }).click();
  const link = await page.getByRole('textbox', { name: 'Link to this run' }).inputValue();
  assert.match(link, /#run=1\./);
  const original = await state(page);
  const opened = await openPage(browser, link);
  await opened.getByRole('status').filter({ hasText: /paused/ }).waitFor({ timeout: 30000 });
  const replayed = await state(opened);
  assert.equal(replayed.us, original.us);
  assert.equal(replayed.fingerprint, original.fingerprint);
  await opened.screenshot({ path: join(SHOTS, shot) });
  assert.deepEqual(opened.problems, []);
  return { link, original, opened, replayed };
}

test('a shared link reproduces the run; a tampered one falls back with a message', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 4e6);
  await page.getByRole('button', { name: 'Kill broker 1' }).click();
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 9e6);
  await page.getByRole('button', { name: 'Add consumer to group billing' }).click();
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 14e6);
  const { link, original, opened, replayed } = await reopenFromLink(page, 'shared-link-1280x720.png');
  assert.equal(replayed.cluster, original.cluster);
  await opened.close();

  // A damaged link: one clear message, and the default scenario runs.
  const damaged = link.replace(/(#run=1\.)(.{20})/, (m, a, b) => a + b.split('').reverse().join(''));
  const bad = await openPage(browser, damaged);
  const msg = await bad.getByRole('status').textContent();
  assert.match(msg, /^This link cannot be opened \(.+\); showing the default scenario\.$/);
  await bad.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 0);
  assert.deepEqual(bad.problems, []);
  await bad.close();
  await page.close();
});

test('a side-by-side link brings back both runs, with the same actions in each', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Side by side' }).selectOption('acks1');
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 5e6);
  await page.getByRole('button', { name: 'Kill broker 0' }).click();
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 12e6);
  const { original, opened, replayed } = await reopenFromLink(page, 'shared-side-by-side-1280x720.png');
  assert.ok(original.twin && original.twin !== original.fingerprint, 'the second run has its own fingerprint');
  assert.equal(replayed.twin, original.twin);
  assert.equal(await opened.getByRole('combobox', { name: 'Side by side' }).inputValue(), 'acks1');
  // Run B's rebalances are marked on the charts beside run A's.
  assert.match(await opened.getByRole('img', { name: /^Throughput chart/ }).getAttribute('aria-label'), /rebalance billing.*B: rebalance billing|B: rebalance billing.*rebalance billing/);
  assert.deepEqual(page.problems, []);
  await opened.close();
  await page.close();
});

// Words that stay in English in the Chinese UI: Kafka's names and config keys,
// protocol and assignor names, ids from the scenarios, units, and product names.
const KEEP = new Set(('acks all ISR HW LEO KRaft KIP-848 JoinGroup SyncGroup Leader Broker classic consumer range roundrobin sticky '
  + 'cooperative-sticky uniform min.insync.replicas unclean.leader.election.enable replication.factor group.protocol group.instance.id '
  + 'auto.commit.interval.ms max.poll.interval.ms session.timeout.ms group.initial.rebalance.delay.ms broker.session.timeout.ms '
  + 'replica.lag.time.max.ms NOT_ENOUGH_REPLICAS Stable JSON README kafka-sim Rust WebAssembly plotters canvas ms s x p50 p99 AUC fenced '
  + 'Shift Esc poll auto.offset.reset id English offsets Kafka true false read_committed read_uncommitted exactly_once_v2 at_least_once processing_guarantee').split(' '));
// Ids, hex fingerprints, single letters (keys, a → b) and Kafka error names.
const isId = (w) => /^(orders|billing|checkout|transactions|user_behavior|c\d|p\d|g\d)([-\w.]*)$/.test(w) || /^[a-f0-9]{8,16}$/.test(w)
  || /^[A-Za-z]$/.test(w) || /^[A-Z][A-Z_]+$/.test(w);

test('in Chinese, no English UI text is left on the main screens', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('combobox', { name: 'Speed' }).selectOption('50');
  await page.getByRole('combobox', { name: 'Language / 语言' }).selectOption('zh');
  await page.waitForFunction(() => document.querySelector('#app').dataset.lang === 'zh');
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 15e6, null, { timeout: 30000 });
  await page.getByRole('button', { name: '终止 Broker 0' }).click();
  await page.getByRole('button', { name: '向消费者组 billing 添加消费者' }).click();
  await page.waitForFunction(() => Number(document.querySelector('#app').dataset.simUs) > 30e6, null, { timeout: 30000 });
  await page.getByRole('button', { name: '暂停', exact: true }).click();
  await page.getByRole('button', { name: '设置场景' }).click();
  await page.getByRole('button', { name: '键盘快捷键' }).click();
  const text = await page.evaluate(() => {
    const skip = new Set(['TEXTAREA', 'OPTION', 'SCRIPT', 'STYLE']);
    const out = [];
    const walk = (n) => {
      if (n.nodeType === 3) out.push(n.textContent);
      else if (n.nodeType === 1 && !skip.has(n.tagName) && getComputedStyle(n).display !== 'none') n.childNodes.forEach(walk);
    };
    walk(document.body);
    // Selected options and attributes people read (titles, placeholders, labels) count too.
    document.querySelectorAll('select').forEach((s) => s.selectedOptions[0] && s.getAttribute('aria-label') !== 'Language / 语言' && out.push(s.selectedOptions[0].textContent));
    document.querySelectorAll('[placeholder]').forEach((e) => out.push(e.getAttribute('placeholder')));
    return out.join(' \n ');
  });
  const words = text.match(/[A-Za-z][A-Za-z0-9._\-]*/g) ?? [];
  const left = [...new Set(words.filter((w) => !KEEP.has(w) && !isId(w) && !KEEP.has(w.replace(/[.,:;]+$/, ''))))];
  assert.deepEqual(left, [], `English left: ${left.join(', ')}`);
  await page.screenshot({ path: join(SHOTS, 'zh-main-1280x720.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('lesson screenshots in both languages and presentation mode', async () => {
  for (const lang of ['en', 'zh']) {
    const page = await openPage(browser, `${server.url}?lang=${lang}&lesson=first-join&step=2`);
    await page.waitForFunction((l) => document.querySelector('#app').dataset.lang === l && document.querySelector('section.lesson'), lang);
    for (const step of [2, 4, 5]) {
      await page.getByRole('button', { name: lang === 'en' ? `Go to step ${step}` : `转到第 ${step} 步` }).click();
      await page.waitForFunction((k) => document.querySelector('section.lesson').dataset.step === String(k), step - 1);
      await page.screenshot({ path: join(SHOTS, `lesson-${lang}-step${step}-1280x720.png`) });
    }
    // Presentation mode by keyboard only: p, then the arrows move between steps.
    await page.keyboard.press('p');
    assert.equal(await page.evaluate(() => document.documentElement.dataset.present), 'true');
    await page.keyboard.press('ArrowLeft');
    await page.waitForFunction(() => document.querySelector('section.lesson').dataset.step === '3');
    await page.keyboard.press('ArrowRight');
    await page.waitForFunction(() => document.querySelector('section.lesson').dataset.step === '4');
    await page.screenshot({ path: join(SHOTS, `present-${lang}-1280x720.png`) });
    assert.deepEqual(page.problems, []);
    await page.close();
  }
});

test("a teacher's own lesson file loads in the running page; a broken one says why", async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('button', { name: 'Set up scenario' }).click();
  const own = {
    id: 'my-lesson', title: 'My lesson', scenario: 'steady',
    steps: [{ at_ms: 3000, title: 'First', text: 'Look at the producer and its rate.', highlight: 'producers' },
      { at_ms: 9000, title: 'Second', text: 'The throughput chart is flat at 2,000 records a second.', highlight: 'chart:throughput' }],
  };
  await page.getByLabel('Load lesson file').setInputFiles({ name: 'mine.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(own)) });
  const panel = page.getByRole('region', { name: 'Lesson' });
  await panel.getByText('Look at the producer and its rate.').waitFor();
  await panel.getByRole('button', { name: 'Next step' }).click();
  await panel.getByText('The throughput chart is flat').waitFor();
  assert.ok(await simMicros(page) >= 9e6);
  // A broken lesson: a one-line message naming the problem; the lesson panel stays as it was.
  own.steps[1].highlight = 'broker:9';
  await page.getByLabel('Load lesson file').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(own)) });
  await page.getByRole('status').filter({ hasText: 'bad.json: lesson my-lesson: step 2: highlight "broker:9" names nothing on screen' }).waitFor();
  assert.deepEqual(page.problems, []);
  await page.close();
});

// Issue 15: the step text and the element it talks about are on screen together,
// at the laptop, projector and phone sizes, whatever the step points at.
test('a lesson step and its highlighted element are on screen together at 1280x720, 1024x768 and 390x844', async () => {
  const steps = [
    ['replication-isr-hw', 1], ['replication-isr-hw', 3], ['acks', 4], ['first-join', 2],
    ['first-join', 6], ['leader-election', 3], ['eligible-leader-replicas', 7],
  ];
  const sizes = [{ width: 1280, height: 720 }, { width: 1024, height: 768 }, { width: 390, height: 844 }];
  for (const size of sizes) {
    const page = await openPage(browser, server.url, size);
    for (const [lesson, step] of steps) {
      await page.goto(`${server.url}?lesson=${lesson}&step=${step}`);
      await page.locator('section.lesson .step-text').waitFor();
      await page.waitForFunction(() => {
        const l = document.querySelector('section.lesson');
        return l && document.querySelector(`.highlight[data-target="${l.dataset.highlight}"]`);
      });
      // Let the page bring the element into view (smooth scrolling ends within a second).
      await page.waitForTimeout(1200);
      const seen = await page.evaluate(() => {
        const vh = window.innerHeight, vw = window.innerWidth;
        const visible = (el) => {
          const r = el.getBoundingClientRect();
          const h = Math.min(r.bottom, vh) - Math.max(r.top, 0);
          const w = Math.min(r.right, vw) - Math.max(r.left, 0);
          return { h: Math.max(0, h), w: Math.max(0, w), height: r.height, width: r.width };
        };
        const l = document.querySelector('section.lesson');
        const text = visible(l.querySelector('.step-text'));
        const lit = visible(document.querySelector(`.highlight[data-target="${l.dataset.highlight}"]`));
        return { target: l.dataset.highlight, text, lit };
      });
      const where = `${lesson} step ${step} (${seen.target}) at ${size.width}x${size.height}`;
      assert.ok(seen.text.h >= Math.min(40, seen.text.height) && seen.text.w >= Math.min(100, seen.text.width * 0.9), `${where}: step text off screen ${JSON.stringify(seen.text)}`);
      assert.ok(seen.lit.h >= Math.min(120, seen.lit.height * 0.9) && seen.lit.w >= Math.min(100, seen.lit.width * 0.9), `${where}: highlighted element off screen ${JSON.stringify(seen.lit)}`);
    }
    assert.deepEqual(page.problems, []);
    await page.close();
  }
});

// Issue 16: the guarantees panel counts each processing group's repeats in both
// runs of lesson 14, and a share group shows what its members hold and how often
// records were delivered.
test('exactly once against at least once, and a share group, as the page shows them', async () => {
  const page = await openPage(browser, `${server.url}?lesson=exactly-once&step=4`);
  const panel = page.locator('[data-target="guarantees"]');
  await page.waitForFunction(() => document.querySelector('[data-target="guarantees"]')?.textContent.includes('Run B (at_least_once): group fraud-scorer'), null, { timeout: 30000 });
  const text = await panel.textContent();
  assert.match(text, /Group fraud-scorer \(exactly_once_v2\): [\d,]+ inputs committed · [\d,]+ outputs · 0 repeated · 0 missing/);
  assert.match(text, /Run B \(at_least_once\): group fraud-scorer \(at_least_once\): 33000 inputs committed · 59580 outputs · 26580 repeated · 0 missing/);
  assert.match(text, /✓ Exactly once/);
  assert.deepEqual(page.problems, []);
  await page.close();
  const share = await openPage(browser, `${server.url}?lesson=share-group-poison&step=3`);
  await share.waitForFunction(() => document.querySelector('.share-line')?.textContent.includes('archived'), null, { timeout: 30000 });
  assert.match(await share.locator('.share-line').first().textContent(), /delivered \d+ · acknowledged \d+ · redelivered \d+ · archived \d+ · deliveries per record: 1× \d+/);
  assert.ok(await share.locator('.member .acquired').count() >= 6, 'every member says what it holds');
  assert.deepEqual(share.problems, []);
  await share.close();
});
