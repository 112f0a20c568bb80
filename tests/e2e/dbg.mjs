import { serveDist, launch, openPage } from './harness.mjs';
const server = await serveDist(); const browser = await launch();
const page = await openPage(browser, server.url + '?lang=zh&lesson=first-join&step=4');
await page.waitForTimeout(1500);
await page.screenshot({ path: '/tmp/zh-lesson.png' });
console.log(page.problems);
await browser.close(); await server.close();
