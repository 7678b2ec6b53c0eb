/**
 * The console says why a container stopped, in Chromium, on a real container (region
 * laima): a process that exits 3 shows its restarts, the crash-loop badge, its last stop
 * (Error, exit code 3) and the server's sentence on the status page, and the link there
 * opens the previous run's log. Skips, saying why, without a real node.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, chromium } from 'playwright-core';
import { repoRoot } from '../../dev/cluster/config.js';
import { ensureConsoleBuilt } from '../helpers/console-build.js';
import { pushAppImage, realNodeOrSkip, testHostPort } from '../helpers/real-node.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

const { node, skip } = await realNodeOrSkip();
const SHOTS = join(repoRoot, 'test-results', 'console');
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

describe('console: why it stopped (Chromium, real node)', { skip, timeout: 300_000 }, () => {
  let server: ServerProcess;
  let browser: Browser;
  const orders: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureConsoleBuilt();
    server = await startServerProcess({ VKUBE_UNIT_MEMORY: '64Mi', VKUBE_UNIT_CPU: '250m' });
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

  it('shows restarts, the crash loop and the last stop on the status page, and opens the previous run’s log', async () => {
    const n = node!;
    const { image } = await pushAppImage(n);
    const order = await server.createOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', region: n.region } });
    orders.push(order.id);
    const command = ['/bin/sh', '-c', 'echo "run $RANDOM"; sleep 1; echo "exiting with 3"; exit 3'];
    const deploy = await fetch(`${server.url}/api/v1/k8s/deploy`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', secret: order.secret },
      body: JSON.stringify({ nodeSelector: { region: n.region }, containers: [{ name: 'app', imageName: image, ports: [{ containerPort: 80, hostPort: testHostPort() }], resource: { memory: '64Mi' }, command }] }),
    });
    assert.equal(deploy.status, 200, await deploy.text());

    const ctx = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await ctx.newPage();
    page.setDefaultTimeout(20_000);
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(String(err)));
    await page.goto(`${server.url}/`);
    await page.getByLabel('Order secret or token').fill(order.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Status', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Status' }).waitFor();

    const card = page.locator('[data-container="app"]');
    // The page refreshes every 4 s; Kubernetes backs off after the first restarts.
    await card.locator('.badge.crash-loop').waitFor({ timeout: 120_000 });
    assert.ok(Number(await card.locator('.restarts').innerText()) >= 1, 'restarts counted');
    assert.match(await card.locator('.last-termination').innerText(), /^Error \(exit code 3\), \d/);
    assert.match(await card.locator('.state').innerText(), /waiting: CrashLoopBackOff/);
    assert.match(await card.locator('.why .summary').innerText(), /keeps stopping: .*its last run exited with code 3 \(Error\)/);
    await page.screenshot({ path: join(SHOTS, '20-status-crash-loop.png'), fullPage: true });

    await card.getByRole('link', { name: 'Show the log of the previous app run' }).click();
    await page.getByRole('heading', { level: 1, name: 'Logs' }).waitFor();
    assert.equal(await page.getByLabel('Previous container').isChecked(), true);
    assert.equal(await page.getByLabel('Container', { exact: true }).inputValue(), 'app');
    await page.getByRole('log').getByText('exiting with 3').waitFor();
    assert.match(await page.getByRole('log').innerText(), /^run \d+\nexiting with 3\n?$/);
    await page.screenshot({ path: join(SHOTS, '21-logs-previous-run.png'), fullPage: true });
    assert.deepEqual(pageErrors, []);
    await ctx.close();
  });
});
