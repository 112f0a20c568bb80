// Frame work in the browser, measured with the Performance API: the app marks
// the start of each animation tick and measures "frame" once the engine slice
// and the drawing that follows are done. Long tasks (> 50 ms) are counted with a
// PerformanceObserver. Prints p50/p99 frame work at 1x and at 1000x with the busy
// preset. A benchmark, not a test: it prints figures and asserts nothing.
// Run: node scripts/bench-page.mjs (after `trunk build --release`).
import { serveDist, launch, openPage } from '../tests/e2e/harness.mjs';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 8);
const server = await serveDist();
const browser = await launch();
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.addInitScript(() => {
  window.__frames = [];
  window.__long = [];
  window.__parts = { 'frame-engine': [], 'frame-view': [], 'frame-charts': [] };
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) {
      if (e.name === 'frame') window.__frames.push(e.duration);
      else if (window.__parts[e.name]) window.__parts[e.name].push(e.duration);
    }
  }).observe({ type: 'measure', buffered: true });
  try { new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__long.push(e.duration); }).observe({ type: 'longtask', buffered: true }); } catch { /* not supported */ }
});
const t0 = Date.now();
await page.goto(server.url);
await page.waitForSelector('#app[data-ready="true"]');
const firstRender = Date.now() - t0;
await page.getByRole('combobox', { name: 'Scenario' }).selectOption('busy');

const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor(p * s.length))] : NaN; };
for (const speed of ['1', '1000']) {
  // A fresh run of the busy preset, made an hour long with the setup form so
  // that 1000x does not reach its end during the measurement.
  await page.getByRole('button', { name: 'Set up scenario' }).click();
  await page.getByLabel('duration (s)').fill('3600');
  await page.getByLabel('duration (s)').press('Tab');
  await page.getByRole('button', { name: 'Run this scenario' }).click();
  await page.getByRole('button', { name: 'Set up scenario' }).click();
  await page.getByRole('combobox', { name: 'Speed' }).selectOption(speed);
  await page.waitForTimeout(1000);
  await page.evaluate(() => { window.__frames.length = 0; window.__long.length = 0; for (const k in window.__parts) window.__parts[k].length = 0; });
  const simStart = Number(await page.getAttribute('#app', 'data-sim-us'));
  await page.waitForTimeout(SECONDS * 1000);
  const simEnd = Number(await page.getAttribute('#app', 'data-sim-us'));
  const { frames, long, parts } = await page.evaluate(() => ({ frames: [...window.__frames], long: [...window.__long], parts: window.__parts }));
  console.log(`busy preset at ${speed}x: ${frames.length} frames in ${SECONDS} s; frame work p50 ${pct(frames, 0.5).toFixed(2)} ms, p99 ${pct(frames, 0.99).toFixed(2)} ms, max ${Math.max(...frames).toFixed(2)} ms; `
    + `long tasks (> 50 ms): ${long.length}${long.length ? `, longest ${Math.max(...long).toFixed(0)} ms` : ''}; simulated ${((simEnd - simStart) / 1e6).toFixed(1)} s (${((simEnd - simStart) / 1e6 / SECONDS).toFixed(1)}x real time)`);
  console.log('  parts (p50 / p99 ms): ' + Object.entries(parts).map(([k, xs]) => `${k.slice(6)} ${pct(xs, 0.5).toFixed(2)} / ${pct(xs, 0.99).toFixed(2)}`).join(', '));
  if (process.env.DUMP) for (const [k, xs] of [['frame', frames], ...Object.entries(parts)]) console.log(`  ${k}: ` + xs.slice(0, 40).map((f) => f.toFixed(1)).join(' '));
}
console.log(`first render (navigation to a mounted app): ${firstRender} ms`);
await browser.close();
await server.close();
