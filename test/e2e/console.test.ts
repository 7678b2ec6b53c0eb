/**
 * The customer's web console in a real browser (Debian's Chromium, headless, driven
 * by playwright-core) against a real V-Kube process on the local cluster. Builds the
 * console first when console/dist is missing or older than its sources. Screenshots
 * of each page and state go to test-results/console/.
 *
 * Docker Hub cannot be reached here, so the image check of `nginx` says the registry
 * cannot be reached: the console must show that as a warning and still deploy.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { repoRoot } from '../../dev/cluster/config.js';
import { ensureConsoleBuilt } from '../helpers/console-build.js';
import { type ServerProcess, startServerProcess } from '../helpers/server.js';

// What the functions run inside the page with page.evaluate() use (the root tsconfig has no DOM lib).
interface PageElement {
  textContent: string | null;
  tagName: string;
  className: string;
  getAttribute(name: string): string | null;
  closest(selector: string): PageElement | null;
  getClientRects(): { length: number };
  getBoundingClientRect(): { right: number };
  labels?: { length: number } | null;
  outerHTML: string;
}
declare const document: {
  activeElement: PageElement | null;
  documentElement: { clientWidth: number; scrollWidth: number };
  querySelectorAll(selector: string): Iterable<PageElement>;
};
declare const sessionStorage: { getItem(key: string): string | null };
declare const localStorage: { getItem(key: string): string | null };
declare function getComputedStyle(el: PageElement): { outlineStyle: string };

const SHOTS = join(repoRoot, 'test-results', 'console');
const REGION = 'ausrine';
const SECRET_KEY = 'vkube.console.secret';
/** The server's VKUBE_STORAGE_CLASS: a class the cluster does not have, so a volume claim waits, with a reason that does not depend on the cluster's default class. */
const MISSING_STORAGE_CLASS = `vkube-e2e-missing-${Date.now().toString(36)}`;
const CHROMIUM_ARGS = ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync'];

describe('web console (Chromium)', { timeout: 300_000 }, () => {
  let server: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const orders: string[] = [];
  const pageErrors: string[] = [];
  let mine: { id: string; secret: string; token: string };
  let blockedPort: number;
  let ourPort: number;

  const api = async (path: string, init: { method?: string; secret?: string; admin?: boolean; body?: unknown } = {}) => {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.secret) headers.secret = init.secret;
    if (init.admin) headers.authorization = `Bearer ${server.adminToken}`;
    const res = await fetch(`${server.url}${path}`, { method: init.method ?? 'GET', headers, ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  const newOrder = async (body?: Record<string, unknown>) => {
    const order = await server.createOrder(body);
    orders.push(order.id);
    return order;
  };

  /** Host ports in 6200–6399 that nothing in the region uses now. */
  const freePorts = async (count: number): Promise<number[]> => {
    const start = 6200 + Math.floor(Math.random() * 150);
    const candidates = Array.from({ length: 50 }, (_, i) => start + i);
    const res = await api('/api/v1/k8s/checkports', { method: 'POST', body: { region: REGION, ports: candidates } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const occupied = new Set(res.body.occupied as number[]);
    const free = candidates.filter((p) => !occupied.has(p));
    assert.ok(free.length >= count, `only ${free.length} free ports from ${start}`);
    return free.slice(0, count);
  };

  const newPage = async (viewport = { width: 1280, height: 900 }, extra: Parameters<Browser['newContext']>[0] = {}) => {
    const ctx = await browser.newContext({ viewport, ...extra });
    const p = await ctx.newPage();
    p.setDefaultTimeout(20_000);
    p.on('pageerror', (err) => pageErrors.push(String(err)));
    p.on('console', (msg) => {
      if (msg.type() === 'error' && !/Failed to load resource/.test(msg.text())) pageErrors.push(msg.text());
    });
    return { ctx, page: p };
  };

  /** The server's gauge of log streams being served (undefined when /metrics does not offer it). */
  const logStreams = async (): Promise<number | undefined> => {
    const res = await fetch(`${server.url}/metrics`);
    if (!res.ok) return undefined;
    const m = /^vkube_log_streams (\d+)/m.exec(await res.text());
    return m ? Number(m[1]) : undefined;
  };

  const until = async (check: () => Promise<boolean>, what: string, ms = 10_000) => {
    const deadline = Date.now() + ms;
    while (!(await check())) {
      assert.ok(Date.now() < deadline, `timed out waiting until ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const shot = (p: Page, name: string) => p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });

  const signIn = async (p: Page, secret: string) => {
    await p.goto(`${server.url}/`);
    await p.getByLabel('Order secret or token').fill(secret);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
  };

  const go = async (p: Page, section: string) => {
    await p.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: section, exact: true }).click();
    await p.getByRole('heading', { level: 1, name: section }).waitFor();
  };

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    await ensureConsoleBuilt();
    // Only orders with persistent storage feel the storage class; no other test here has one.
    server = await startServerProcess({ VKUBE_STORAGE_CLASS: MISSING_STORAGE_CLASS });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    mine = await newOrder();
    [blockedPort, ourPort] = (await freePorts(2)) as [number, number];
    // Another customer holds blockedPort in the region.
    const other = await newOrder();
    const deployed = await api('/api/v1/k8s/deploy', {
      method: 'POST',
      secret: other.secret,
      body: { nodeSelector: { region: REGION }, containers: [{ name: 'other', imageName: 'nginx', ports: [{ containerPort: 80, hostPort: blockedPort }], resource: { memory: '64Mi' } }] },
    });
    assert.equal(deployed.status, 200, `${JSON.stringify(deployed.body)}\n${server.output()}`);
    ({ ctx: context, page } = await newPage());
  });

  after(async () => {
    for (const id of orders) {
      // Cleanup: an order the test already ended answers 409.
      await api(`/api/v1/admin/orders/${id}/abort`, { method: 'POST', admin: true }).catch(() => undefined);
    }
    // Cleanup: a browser that crashed has nothing to close.
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('serves the console at / and for deep links, with no external resources', async () => {
    for (const path of ['/', '/deploy', '/logs']) {
      const res = await fetch(`${server.url}${path}`, { headers: { accept: 'text/html' } });
      assert.equal(res.status, 200, path);
      const html = await res.text();
      assert.match(html, /<div id="app">/);
      assert.doesNotMatch(html, /(src|href)="https?:\/\//, 'no resource from another origin');
    }
    const external: string[] = [];
    const { ctx, page: p } = await newPage();
    p.on('request', (r) => {
      if (!r.url().startsWith(server.url) && !r.url().startsWith('data:')) external.push(r.url());
    });
    await p.goto(`${server.url}/`);
    await p.getByRole('heading', { level: 1, name: 'Sign in to your container' }).waitFor();
    await shot(p, '01-signin');
    assert.deepEqual(external, []);
    await ctx.close();
  });

  it('shows a clear error for a wrong secret', async () => {
    const { ctx, page: p } = await newPage();
    await p.goto(`${server.url}/`);
    const input = p.getByLabel('Order secret or token');
    await input.fill('this-is-not-a-secret');
    await p.getByRole('button', { name: 'Sign in' }).click();
    // Said once, at the field, in words: not a second alert repeating it in other words.
    await p.locator('.field-error').getByText('This secret or token was not accepted. Check that you copied all of it.').waitFor();
    assert.equal(await input.getAttribute('aria-invalid'), 'true');
    assert.equal(await p.locator('.signin-form .message').innerText(), '', 'no second message below');
    assert.equal(await p.evaluate((k) => sessionStorage.getItem(k), SECRET_KEY), null);
    assert.equal(await p.evaluate(() => document.activeElement?.getAttribute('name')), 'secret', 'focus returns to the secret field');
    await shot(p, '02-signin-wrong-secret');
    await ctx.close();
  });

  it('signs in with the keyboard alone (the clients’ token works too)', async () => {
    const { ctx, page: p } = await newPage();
    await p.goto(`${server.url}/`);
    await p.getByRole('heading', { level: 1, name: 'Sign in to your container' }).waitFor();
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement?.textContent), 'Skip to content');
    await p.keyboard.press('Tab');
    assert.equal(await p.evaluate(() => document.activeElement?.getAttribute('name')), 'secret');
    const outline = await p.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.equal(outline, 'solid', 'keyboard focus is visible');
    await p.keyboard.type(mine.token);
    await p.keyboard.press('Enter');
    await p.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    assert.equal(await p.evaluate(() => document.activeElement?.textContent), 'Overview', 'focus moves to the page heading');
    assert.equal(await p.evaluate((k) => sessionStorage.getItem(k), SECRET_KEY), mine.token);
    assert.equal(await p.evaluate((k) => localStorage.getItem(k), SECRET_KEY), null, 'never in localStorage');
    // Every control on the page is reachable with Tab.
    const reached = new Set<string>();
    for (let i = 0; i < 20; i++) {
      await p.keyboard.press('Tab');
      reached.add(await p.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
    }
    for (const name of ['Sign out', 'Overview', 'Deploy', 'Status', 'Logs', 'Events', 'Deploy your container']) assert.ok(reached.has(name), `Tab reaches "${name}" (reached: ${[...reached].join(' | ')})`);
    await ctx.close();
  });

  it('shows the order overview after signing in', async () => {
    await signIn(page, mine.secret);
    const facts = page.locator('dl.facts');
    await facts.getByText('Not deployed yet').waitFor();
    const text = await facts.innerText();
    assert.match(text, /Resource units\s+2 \(2 GiB memory/);
    assert.match(text, /Region\s+chosen at your first deploy/);
    assert.match(text, /Time left\s+24 h, counted from your first deploy/);
    assert.match(text, new RegExp(mine.id));
    assert.equal(await page.getByRole('button', { name: 'Stop', exact: true }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Start', exact: true }).isDisabled(), true);
    await shot(page, '03-overview-pending');
  });

  it('flags a host port another order holds before submit, and disables Deploy', async () => {
    await go(page, 'Deploy');
    const form = page.locator('form.deploy-form');
    await form.getByLabel('Region').selectOption(REGION);
    const container = form.locator('fieldset.container').first();
    await container.getByLabel('Name', { exact: true }).fill('web');
    await container.getByLabel('Image').fill('nginx');
    await container.getByLabel('Memory (MiB)').fill('256');
    await container.getByLabel('Container port').fill('80');
    await container.getByLabel('Host port').fill(String(blockedPort));
    const portHint = container.locator('.port-row .field').filter({ has: page.getByLabel('Host port') }).locator('.hint');
    await portHint.getByText(`Port ${blockedPort} is taken in ${REGION}`).waitFor();
    assert.equal(await container.getByLabel('Host port').getAttribute('aria-invalid'), 'true');
    const deploy = form.getByRole('button', { name: 'Deploy', exact: true });
    assert.equal(await deploy.isDisabled(), true, 'Deploy is disabled while a host port is taken');
    assert.match(await page.locator('#submit-blocker').innerText(), new RegExp(`${blockedPort} is taken`));
    // The image check cannot reach Docker Hub here: a warning, not a failure.
    await container.getByText(/⚠ nginx:latest was not checked: .*could not be reached.*You can still deploy/).waitFor();
    assert.match(await page.locator('.memory-total').innerText(), /256 MiB of 2048 MiB/);
    await shot(page, '04-deploy-port-taken');
  });

  it('deploys nginx with a host port and sees it Running', async () => {
    const form = page.locator('form.deploy-form');
    const container = form.locator('fieldset.container').first();
    await container.getByLabel('Host port').fill(String(ourPort));
    await container.getByText(`✓ Free in ${REGION}.`).waitFor();
    await container.getByRole('button', { name: 'Add variable' }).click();
    await container.locator('.env-row').getByLabel('Variable name').fill('GREETING');
    await container.locator('.env-row').getByLabel('Value').fill('hello');
    const deploy = form.getByRole('button', { name: 'Deploy', exact: true });
    assert.equal(await deploy.isEnabled(), true);

    // More memory than the order's units: flagged by the running total, Deploy disabled.
    await container.getByLabel('Memory (MiB)').fill('4096');
    await page.locator('.memory-total').getByText('4096 MiB of 2048 MiB: 2048 MiB more than your 2 unit(s) allow.').waitFor();
    assert.equal(await deploy.isDisabled(), true);
    await container.getByLabel('Memory (MiB)').fill('256');

    // The server's rules as the customer types: leaving a field shows its problem there, in plain words.
    const name = container.getByLabel('Name', { exact: true });
    await name.fill('Not_A_Label');
    await name.blur();
    await container.locator('.field-error').getByText(/"Not_A_Label" is not a valid name: use lowercase letters, digits and "-"/).waitFor();
    assert.equal(await name.getAttribute('aria-invalid'), 'true');
    await deploy.click();
    const alert = form.getByRole('alert');
    await alert.getByText('Fix the field marked above; nothing was deployed.').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('aria-invalid')), 'true', 'focus moves to the field that is wrong');
    await shot(page, '05a-deploy-field-error');
    await name.fill('web');
    // Fixed: the field's error and the form's message both go, with no second submit.
    await alert.getByText('Fix the field marked above').waitFor({ state: 'detached' });
    assert.equal(await name.getAttribute('aria-invalid'), null, 'editing the field clears its error');

    await deploy.click();
    const result = form.locator('.message').getByText(`Deployed to ${REGION}.`);
    await result.waitFor();
    assert.match(await form.locator('.message').innerText(), /could not check image nginx/, 'the registry warning of the response is shown');
    assert.match(await form.locator('.message').innerText(), new RegExp(`host port ${ourPort} → 80/TCP`));
    await shot(page, '05b-deploy-done');
    const info = await api('/api/v1/k8s/deployment/info', { secret: mine.secret });
    assert.deepEqual((info.body.containers as Array<{ envs: unknown }>)[0]?.envs, [{ name: 'GREETING', value: 'hello' }], 'the environment variable was deployed');

    await go(page, 'Status');
    await page.locator('.badge.pod-phase[data-phase="Running"]').waitFor({ timeout: 60_000 });
    const status = await page.locator('main').innerText();
    assert.match(status, /Node\s+ausrine-/);
    assert.match(status, new RegExp(`:${ourPort} → web 80/TCP`));
    await page.locator('[data-container="web"] .badge[data-ready="true"]').waitFor();
    assert.equal(await page.locator('[data-container="web"] .restarts').innerText(), '0');
    await shot(page, '06-status-running');

    await go(page, 'Overview');
    await page.locator('dl.facts .badge[data-status="ServiceRunning"]').waitFor();
    assert.match(await page.locator('.countdown').innerText(), /^23 h 5\d min \d+ s left$/);
    assert.match(await page.locator('dl.facts').innerText(), /Region\s+ausrine/);
    await shot(page, '07-overview-running');
  });

  it('reads its log: tail, follow, previous', async () => {
    await go(page, 'Logs');
    const log = page.getByRole('log');
    // Opening the log follows it at once: nothing to press to see it.
    await page.getByText('Following the log of web.').waitFor();
    await log.getByText('vkube local cluster: ready').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Stop following' }).getAttribute('aria-pressed'), 'true');
    await shot(page, '09-logs-follow');
    await page.getByRole('button', { name: 'Stop following' }).click();
    await page.getByText('Stopped following.').waitFor();

    await page.getByRole('button', { name: 'Clear' }).click();
    assert.equal(await log.innerText(), '');
    await page.getByLabel('Lines').fill('50');
    await page.getByRole('button', { name: 'Show log' }).click();
    await log.getByText('vkube local cluster: ready').waitFor();
    assert.equal(await page.getByLabel('Container', { exact: true }).inputValue(), 'web');
    await shot(page, '08-logs-tail');

    await page.getByLabel('Previous container').check();
    await page.getByRole('button', { name: 'Show log' }).click();
    // There is no previous container yet: the server's message is shown as it is.
    await page.locator('.message[data-tone="error"], .message[data-tone="ok"]').waitFor();
    const said = await page.locator('.message').first().innerText();
    assert.ok(/previous/i.test(said) || /Could not load the log: .+/.test(said), said);
    await shot(page, '10-logs-previous');
    await page.getByLabel('Previous container').uncheck();

    // Following, then leaving the page, aborts the stream: the server's count of open streams drops back.
    await page.getByRole('button', { name: 'Follow' }).click();
    await page.getByText('Following the log of web.').waitFor();
    const following = await logStreams();
    if (following !== undefined) assert.ok(following >= 1, `open log streams while following: ${following}`);
    await go(page, 'Status');
    if (following !== undefined) await until(async () => (await logStreams()) === following - 1, 'the log stream closes when the page is left');
  });

  it('adds and removes a custom domain', async () => {
    const domain = `shop-${Date.now().toString(36)}.example.test`;
    await page.getByRole('textbox', { name: 'Domain' }).fill(domain);
    assert.equal(await page.getByLabel('Container port', { exact: true }).inputValue(), '80');
    await page.getByRole('button', { name: 'Add domain' }).click();
    const item = page.locator('ul.domains li').filter({ hasText: domain });
    await item.waitFor();
    assert.match(await item.innerText(), /→ port 80/);
    await shot(page, '11-status-domain');
    await page.getByRole('button', { name: `Remove ${domain}` }).click();
    await page.getByText(`${domain} was removed.`).waitFor();
    await item.waitFor({ state: 'detached' });
  });

  it('stops and starts it', async () => {
    await go(page, 'Overview');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    // Asked first, with Cancel as the safe default; cancelling changes nothing.
    await page.getByText('Stop your app?').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Cancel');
    await shot(page, '12a-overview-confirm-stop');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Stop your app?').waitFor({ state: 'detached' });
    assert.equal((await api('/api/v1/k8s/userService', { secret: mine.secret })).body.status, 'ServiceRunning', 'cancel stopped nothing');
    await page.getByRole('button', { name: 'Stop', exact: true }).click();
    await page.getByRole('button', { name: 'Stop it' }).click();
    await page.locator('dl.facts .badge[data-status="ServiceStop"]').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Stop', exact: true }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Restart', exact: true }).isDisabled(), true);
    assert.equal(await page.getByRole('button', { name: 'Start', exact: true }).isEnabled(), true);
    await page.getByText('Stopped. Your settings and host ports are kept').waitFor();
    await shot(page, '12-overview-stopped');

    await go(page, 'Status');
    await page.locator('.pod-phase[data-phase="none"]').waitFor({ timeout: 30_000 });
    await shot(page, '13-status-stopped');

    await go(page, 'Overview');
    await page.getByRole('button', { name: 'Start', exact: true }).click();
    await page.locator('dl.facts .badge[data-status="ServiceRunning"]').waitFor();
    await go(page, 'Status');
    await page.locator('.badge.pod-phase[data-phase="Running"]').waitFor({ timeout: 60_000 });
    assert.match(await page.locator('main').innerText(), new RegExp(`:${ourPort} → web 80/TCP`), 'same host port after start');
  });

  it('shows the pod’s events', async () => {
    await go(page, 'Events');
    await page.locator('ol.events li, .message[data-tone="warn"]').first().waitFor();
    if (await page.locator('ol.events').count()) {
      // Sentences first; Kubernetes' reason and message one click away.
      // The newest event may be any of the stop/start's (a deleted pod, a killed container);
      // the sentence and its Kubernetes reason are checked on the same event.
      const told = page.locator('ol.events li', { hasText: /Placed on node|Container web started\.|Your pod was created\./ }).first();
      await told.locator('details summary').click();
      assert.match(await told.locator('details[open]').innerText(), /Scheduled|Started|SuccessfulCreate|Pulled|Created/);
    }
    await shot(page, '14-events');
  });

  it('says in plain words why the pod waits for its storage volume', { timeout: 90_000 }, async () => {
    const order = await newOrder({ serviceOptions: { resourceUnit: '1-Unit-Resource', persistStorage: 'Yes' } });
    const deployed = await api('/api/v1/k8s/deployment', {
      method: 'POST',
      secret: order.secret,
      body: { containers: [{ name: 'db', imageName: 'nginx:latest', resourceUnit: 1, ports: [{ containerPort: 80, protocol: 'TCP' }], mountPath: '/data' }] },
    });
    assert.equal(deployed.status, 200, `${JSON.stringify(deployed.body)}\n${server.output()}`);
    const { ctx, page: p } = await newPage();
    await signIn(p, order.secret);
    await go(p, 'Status');
    const note = p.getByRole('note', { name: 'Storage' });
    await note.getByText(`the cluster has no storage class named "${MISSING_STORAGE_CLASS}"`).waitFor({ timeout: 60_000 });
    const said = await note.innerText();
    assert.match(said, /Your container is waiting for its storage volume\./);
    assert.match(said, /Your provider has to create it/, 'it says who can fix it');
    assert.doesNotMatch(said, /PersistentVolumeClaim|storageclass\.storage\.k8s\.io|ProvisioningFailed|Unschedulable/, `no Kubernetes jargon: ${said}`);
    assert.equal(await p.locator('.badge.pod-phase').getAttribute('data-phase'), 'Pending');
    assert.equal(await p.locator('.storage-state').innerText(), 'not ready');
    await shot(p, '14b-status-storage-waiting');
    await ctx.close();
  });

  it('fits a 375 px phone screen without horizontal scrolling', async () => {
    const { ctx, page: p } = await newPage({ width: 375, height: 812 }, { isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    await signIn(p, mine.secret);
    for (const [path, title] of [
      ['/', 'Overview'],
      ['/deploy', 'Deploy'],
      ['/status', 'Status'],
      ['/logs', 'Logs'],
      ['/events', 'Events'],
    ] as const) {
      await p.goto(`${server.url}${path}`);
      await p.getByRole('heading', { level: 1, name: title }).waitFor();
      if (path === '/deploy') await p.locator('fieldset.container').first().waitFor();
      if (path === '/status') await p.locator('.pod-phase').first().waitFor();
      if (path === '/logs') {
        await p.getByRole('button', { name: 'Show log' }).click();
        await p.getByRole('log').getByText('vkube local cluster: ready').waitFor();
      }
      const overflow = await p.evaluate(() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('body *')]
          .filter((el) => !el.closest('.visually-hidden') && el.getClientRects().length > 0)
          .filter((el) => el.getBoundingClientRect().right > width + 1)
          .map((el) => `${el.tagName.toLowerCase()}.${el.className}`);
        return { scroll: document.documentElement.scrollWidth, width, wide };
      });
      assert.ok(overflow.scroll <= overflow.width, `${path}: page is ${overflow.scroll}px wide in a ${overflow.width}px viewport`);
      assert.deepEqual(overflow.wide, [], `${path}: elements wider than the screen`);
      const unlabelled = await p.evaluate(() =>
        [...document.querySelectorAll('input, select, textarea')].filter((el) => !el.labels?.length && !el.getAttribute('aria-label')).map((el) => el.outerHTML),
      );
      assert.deepEqual(unlabelled, [], `${path}: every form control has a label`);
      await shot(p, `15-phone${path === '/' ? '-overview' : path.replace('/', '-')}`);
    }
    await ctx.close();
  });

  it('signs out: the secret leaves the tab and the sign-in form returns', async () => {
    await go(page, 'Overview');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in to your container' }).waitFor();
    await page.getByText('You are signed out.').waitFor();
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), SECRET_KEY), null);
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Sign in to your container' }).waitFor();
    await shot(page, '16-signed-out');
    await context.close();
  });

  it('raised no script errors in the pages', () => {
    assert.deepEqual(pageErrors, []);
  });
});
