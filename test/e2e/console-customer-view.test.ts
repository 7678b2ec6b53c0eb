/**
 * Issue 20 items 1–3 in Chromium on a real container (region laima): the status page
 * links where the app is reached (the region's public host is the node's bridge address
 * here, so the link is fetched on this machine only), draws the usage graphs with their
 * limit lines, lists the deploy history, and rolls back with a confirmation — at desktop
 * and 390 px phone widths, with screenshots under test-results/console/. The deploys go
 * through the API (the deploy form has its own tests). Skips, saying why, without a real node.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type Page, chromium } from 'playwright-core';
import { repoRoot } from '../../dev/cluster/config.js';
import { ensureConsoleBuilt } from '../helpers/console-build.js';
import { httpGet, pushAppImage, realNodeOrSkip, served, testHostPort } from '../helpers/real-node.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const { node, skip } = await realNodeOrSkip();
const SHOTS = join(repoRoot, 'test-results', 'console');
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

describe('console: where to reach it, usage graphs, history and rollback (Chromium, real node)', { skip, timeout: 600_000 }, () => {
  let server: ServerProcess;
  let browser: Browser;
  const orders: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureConsoleBuilt();
    server = await startServerProcess({
      VKUBE_UNIT_MEMORY: '128Mi',
      VKUBE_UNIT_CPU: '250m',
      // The node's bridge address stands in for the region's public host: it is on this machine.
      VKUBE_PUBLIC_HOSTS: `${node!.region}=${node!.ip}`,
      VKUBE_USAGE_INTERVAL_SECONDS: '2',
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  });

  after(async () => {
    for (const id of orders) {
      await fetch(`${server.url}/api/v1/admin/orders/${id}/abort`, { method: 'POST', headers: { authorization: `Bearer ${server.adminToken}` } }).catch(() => undefined);
    }
    // Cleanup: a browser that crashed has nothing to close.
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  async function signInToStatus(page: Page, secret: string): Promise<void> {
    await page.goto(`${server.url}/`);
    await page.getByLabel('Order secret or token').fill(secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Status', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Status' }).waitFor();
  }

  it('walks deploy → the app’s address → graphs → history → rollback', async () => {
    const n = node!;
    const { image } = await pushAppImage(n);
    const order = await server.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: n.region } });
    orders.push(order.id);
    const hostPort = testHostPort();
    const deploy = async (token: string) => {
      const res = await fetch(`${server.url}/api/v1/k8s/deploy`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', secret: order.secret },
        body: JSON.stringify({ nodeSelector: { region: n.region }, containers: [{ name: 'app', imageName: image, ports: [{ containerPort: 80, hostPort }], resource: { memory: '96Mi' }, envs: [{ name: 'APP_TOKEN', value: token }] }] }),
      });
      const text = await res.text();
      assert.equal(res.status, 200, text);
      return (JSON.parse(text) as { generation: number }).generation;
    };
    const first = await deploy('first');
    await served(n, hostPort, /token=first/, 120_000);
    const second = await deploy('second');
    await served(n, hostPort, /token=second/, 120_000);

    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(30_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await signInToStatus(page, order.secret);

    // Where to reach it: a link to the public host and the host port, which answers.
    const url = `http://${n.ip}:${hostPort}/`;
    const link = page.getByRole('link', { name: url });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), url);
    assert.match((await httpGet(url)).body, /token=second/);

    // Graphs: the memory chart of the container, with its limit line, once samples arrive.
    const memory = page.locator('[data-chart="app: memory"]');
    await memory.locator('path.chart-line').waitFor({ state: 'attached', timeout: 120_000 });
    assert.equal(await memory.locator('line.chart-limit').count(), 1);
    assert.match((await memory.locator('svg').getAttribute('aria-label')) ?? '', /^app: memory: memory \d+(\.\d)? (MiB|KiB); limit 96\.0 MiB$/);
    await page.locator('[data-chart="app: CPU"] line.chart-limit').waitFor({ state: 'attached' });

    // History: both deploys, the newest current.
    const entries = page.locator('.history-entry');
    await page.locator(`.history-entry[data-generation="${first}"]`).waitFor();
    assert.deepEqual(await entries.evaluateAll((els) => els.map((e) => e.getAttribute('data-generation'))), [String(second), String(first)]);
    assert.match(await page.locator(`.history-entry[data-generation="${second}"]`).innerText(), /current/);
    await page.locator('section[aria-labelledby="usage-title"]').scrollIntoViewIfNeeded();
    await page.screenshot({ path: join(SHOTS, '30-status-endpoints-usage-history.png'), fullPage: true });

    // Rollback asks first; Cancel leaves everything as it was.
    const older = page.locator(`.history-entry[data-generation="${first}"]`);
    await older.getByRole('button', { name: 'Roll back' }).click();
    await older.getByText(`Deploy generation ${first} again?`).waitFor();
    await older.getByRole('button', { name: 'Cancel' }).click();
    await older.getByRole('button', { name: 'Roll back' }).click();
    await page.screenshot({ path: join(SHOTS, '31-rollback-confirm.png'), fullPage: true });
    await older.getByRole('button', { name: `Roll back to generation ${first}` }).click();
    await page.getByText(new RegExp(`Rolled back: generation ${first} is deployed again as generation \\d+`)).waitFor({ timeout: 60_000 });
    await served(n, hostPort, /token=first/, 120_000);
    await page.locator('.history-entry').first().getByText('current').waitFor();
    assert.notEqual(await page.locator('.history-entry').first().getAttribute('data-generation'), String(second));
    await page.screenshot({ path: join(SHOTS, '32-rolled-back.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
    await ctx.close();

    // The same page on a 390 px phone: links wrap, charts fit, nothing runs off the side.
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const p = await phone.newPage();
    p.setDefaultTimeout(30_000);
    await signInToStatus(p, order.secret);
    await p.getByRole('link', { name: url }).waitFor();
    await p.locator('[data-chart="app: memory"] path.chart-line').waitFor({ state: 'attached', timeout: 60_000 });
    const overflow = await p.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
    await p.screenshot({ path: join(SHOTS, '33-phone-status-usage-history.png'), fullPage: true });
    await phone.close();
  });
});
