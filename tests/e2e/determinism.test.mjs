// The same scenario and seed give the same trace fingerprint in the browser
// (wasm32) as in the native CLI (x86_64): no platform-dependent behaviour.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { serveDist, launch, openPage } from './harness.mjs';

const ROOT = resolve(import.meta.dirname, '..', '..');
const native = ['release', 'debug'].map((p) => join(ROOT, 'target', p, 'kafka-sim')).find(existsSync);

let server, browser;
before(async () => { server = await serveDist(); browser = await launch(); });
after(async () => { await browser?.close(); await server?.close(); });

function nativeSummary(json) {
  return JSON.parse(execFileSync(native, ['run', '-'], { input: json }).toString());
}

const withFaults = JSON.stringify({
  seed: 99, duration_ms: 30000, cluster: { brokers: 3 },
  topics: [{ name: 'transactions', partitions: 6, replication_factor: 3, min_insync_replicas: 2 }],
  producers: [{ id: 'p1', topic: 'transactions', records_per_sec: 3000, keys: 100, acks: '1' }],
  actions: [{ at_ms: 5000, action: 'kill_broker', broker: 1 }, { at_ms: 9000, action: 'partition_network', from: [0], to: ['c0'], one_way: true },
    { at_ms: 15000, action: 'heal_network' }, { at_ms: 18000, action: 'restart_broker', broker: 1 }],
});

test('wasm and native runs give the same fingerprint and summary', async () => {
  assert.ok(native, 'native kafka-sim binary not built (cargo build first)');
  const page = await openPage(browser, server.url);
  const scenarios = [readFileSync(join(ROOT, 'scenarios', 'steady.json'), 'utf8'), withFaults];
  for (const json of scenarios) {
    const inBrowser = JSON.parse(await page.evaluate((j) => window.wasmBindings.run_summary(j), json));
    const natively = nativeSummary(json);
    assert.equal(inBrowser.error, undefined, inBrowser.error);
    assert.equal(inBrowser.fingerprint, natively.fingerprint);
    assert.deepEqual(inBrowser, natively);
  }
  // Another seed, another run.
  const other = JSON.parse(await page.evaluate((j) => window.wasmBindings.run_summary(j), withFaults.replace('"seed":99', '"seed":100')));
  assert.notEqual(other.fingerprint, nativeSummary(withFaults).fingerprint);
  assert.deepEqual(page.problems, []);
  await page.close();
});
