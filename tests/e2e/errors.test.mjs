// Errors are typed values translated when drawn: a broken scenario file, a
// broken lesson file and a damaged link read in English, and in Chinese after
// switching (the nested error translated by its own template, not left in English).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { serveDist, launch, openPage, SHOTS } from './harness.mjs';

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

const toZh = async (page) => {
  await page.getByRole('combobox', { name: 'Language / 语言' }).selectOption('zh');
  await page.waitForFunction(() => document.querySelector('#app').dataset.lang === 'zh');
};

test('a broken scenario file and a broken lesson file say why, in English and then in Chinese', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('button', { name: 'Set up scenario' }).click();
  await page.getByLabel('Load scenario file').setInputFiles({
    name: 'broken.json', mimeType: 'application/json',
    buffer: Buffer.from('{"seed": 1, "cluster": {"brokers": 3}, "topics": [{"name": "t", "replication_factor": 5}]}'),
  });
  const alert = page.getByRole('alert');
  assert.equal(await alert.textContent(), 'broken.json: topic t: replication_factor 5 is larger than the 3 available brokers');
  const lesson = {
    id: 'my-lesson', title: 'My lesson', scenario: 'steady',
    steps: [{ at_ms: 3000, title: 'First', text: 'Look at the producer.', highlight: 'broker:9' }],
  };
  await page.getByLabel('Load lesson file').setInputFiles({ name: 'bad.json', mimeType: 'application/json', buffer: Buffer.from(JSON.stringify(lesson)) });
  const status = page.getByRole('status').filter({ hasText: 'bad.json' });
  assert.equal(await status.textContent(), 'bad.json: lesson my-lesson: step 1: highlight "broker:9" names nothing on screen');
  // The same errors, now in Chinese: each part by its own template.
  await toZh(page);
  assert.equal(await alert.textContent(), 'broken.json：主题 t：replication_factor 5 大于可用的 Broker 数（3）');
  assert.equal(await page.getByRole('status').filter({ hasText: 'bad.json' }).textContent(), 'bad.json：课程 my-lesson：第 1 步：highlight "broker:9" 不对应屏幕上的任何内容');
  await page.screenshot({ path: join(SHOTS, 'errors-zh-1280x720.png') });
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('a damaged link says so in Chinese, nested error included', async () => {
  const page = await openPage(browser, `${server.url}?lang=zh#run=1.@@@`);
  await page.waitForFunction(() => document.querySelector('#app').dataset.lang === 'zh');
  await page.getByRole('status').filter({ hasText: '链接' }).waitFor();
  assert.equal(await page.getByRole('status').textContent(), '无法打开这个链接（链接已损坏：不是有效的 base64）；显示默认场景。');
  assert.deepEqual(page.problems, []);
  await page.close();
});

test('the status line is translated when drawn: switching the language translates it', async () => {
  const page = await openPage(browser, server.url);
  await page.getByRole('button', { name: 'Kill broker 0' }).click();
  const status = page.getByRole('status');
  const english = await status.textContent();
  const at = english.match(/^kill broker at (\d+\.\d+ s)$/)[1];
  await toZh(page);
  assert.equal(await status.textContent(), `终止 Broker，于 ${at}`);
  assert.deepEqual(page.problems, []);
  await page.close();
});
