// Real-browser check of the Temporal Web UI (run by uitest/run.sh, i.e. `make test-ui`).
//
// Environment (set by run.sh):
//   UI_URL             Web UI origin, e.g. http://127.0.0.1:8233 (required)
//   CODEC_URL          codec server the UI was pointed at with --ui-codec-endpoint (required)
//   UI_CONNECTION_ID   connection to look for (default ui-demo)
//   CHROMIUM_PATH      browser binary (default /usr/bin/chromium)
//   UI_PROFILE_DIR     fresh Chromium user-data-dir (default: a new temp dir)
//   UI_SCREENSHOT_DIR  where webui-list.png and webui-connection.png go (default ../docs)
//   UI_NAMESPACE       Temporal namespace (default default)
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
const UI_URL = (process.env.UI_URL ?? '').replace(/\/+$/, '');
const CODEC_URL = (process.env.CODEC_URL ?? '').replace(/\/+$/, '');
const NAMESPACE = process.env.UI_NAMESPACE || 'default';
const CONNECTION_ID = process.env.UI_CONNECTION_ID || 'ui-demo';
const WORKFLOW_ID = `connection:${CONNECTION_ID}`;
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const SHOTS = process.env.UI_SCREENSHOT_DIR || path.join(here, '..', 'docs');
const QUERY = 'ConnectorState="Processed"';
const LIST_URL = `${UI_URL}/namespaces/${encodeURIComponent(NAMESPACE)}/workflows?query=${encodeURIComponent(QUERY)}`;

if (!UI_URL || !CODEC_URL) {
  throw new Error('UI_URL and CODEC_URL must be set (run this test through uitest/run.sh or `make test-ui`)');
}

let context;
let page;
let profileDir;
const pageErrors = [];
const decodeResponses = []; // { status, ok } of every POST <CODEC_URL>/decode the UI made
const failedRequests = [];

async function failureShot(name) {
  if (!page) return;
  const dir = process.env.UI_PROFILE_DIR ? path.dirname(process.env.UI_PROFILE_DIR) : os.tmpdir();
  const file = path.join(dir, `failure-${name}.png`);
  try {
    await page.screenshot({ path: file, fullPage: true });
    console.error(`screenshot of the failing page: ${file}`);
  } catch { /* page already gone */ }
}

function diagnostics() {
  return [
    pageErrors.length ? `page errors: ${pageErrors.join(' | ')}` : '',
    failedRequests.length ? `failed requests (${failedRequests.length}): ${[...new Set(failedRequests)].slice(0, 5).join(' | ')}` : '',
    `codec /decode responses: ${decodeResponses.map((r) => r.status).join(',') || 'none'}`,
  ].filter(Boolean).join('\n');
}

before(async () => {
  assert.ok(fs.existsSync(CHROMIUM_PATH), `Chromium not found at ${CHROMIUM_PATH} (apt-get install -y chromium)`);
  profileDir = process.env.UI_PROFILE_DIR || fs.mkdtempSync(path.join(os.tmpdir(), 'uitest-chromium-'));
  fs.rmSync(profileDir, { recursive: true, force: true });
  fs.mkdirSync(profileDir, { recursive: true });
  fs.mkdirSync(SHOTS, { recursive: true });
  // launchPersistentContext passes profileDir to Chromium as --user-data-dir.
  context = await chromium.launchPersistentContext(profileDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1440, height: 900 },
    timezoneId: 'UTC',
    locale: 'en-US',
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on('pageerror', (err) => pageErrors.push(String(err?.message ?? err).slice(0, 300)));
  page.on('requestfailed', (req) => failedRequests.push(`${req.method()} ${req.url()}: ${req.failure()?.errorText}`));
  page.on('response', (res) => {
    if (res.request().method() === 'POST' && res.url().startsWith(`${CODEC_URL}/decode`)) {
      decodeResponses.push({ status: res.status(), ok: res.ok() });
    }
  });
});

after(async () => {
  await context?.close();
  if (!process.env.UI_PROFILE_DIR && profileDir) fs.rmSync(profileDir, { recursive: true, force: true });
});

test('the payloads stored in Temporal are encrypted and the UI is pointed at the codec server', async () => {
  // Negative control: read the raw history through the UI's own HTTP API (no codec involved).
  const res = await fetch(
    `${UI_URL}/api/v1/namespaces/${encodeURIComponent(NAMESPACE)}/workflows/${encodeURIComponent(WORKFLOW_ID)}/history?maximumPageSize=1`,
  );
  assert.equal(res.status, 200, `GET history of ${WORKFLOW_ID} through the UI API returned ${res.status}`);
  const body = await res.json();
  const started = body?.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  assert.ok(started, `no WorkflowExecutionStarted event for ${WORKFLOW_ID}`);
  const payload = started.input?.payloads?.[0];
  assert.ok(payload, 'the workflow has no input payload');
  const encoding = Buffer.from(payload.metadata?.encoding ?? '', 'base64').toString();
  assert.equal(encoding, 'binary/encrypted', `the raw input payload's encoding is "${encoding}", not binary/encrypted`);
  const raw = Buffer.from(payload.data ?? '', 'base64').toString('latin1');
  assert.ok(!raw.includes(CONNECTION_ID), `"${CONNECTION_ID}" is readable in the raw (supposedly encrypted) payload`);

  const settings = await (await fetch(`${UI_URL}/api/v1/settings`)).json();
  const endpoint = settings?.Codec?.Endpoint ?? '';
  assert.equal(endpoint.replace(/\/+$/, ''), CODEC_URL,
    `the UI's codec endpoint is "${endpoint}", expected ${CODEC_URL} (dev server flag --ui-codec-endpoint)`);
});

test(`the workflows list filtered with ${QUERY} shows ${WORKFLOW_ID}`, { timeout: 120_000 }, async () => {
  const row = page.getByRole('link', { name: WORKFLOW_ID, exact: true });
  const deadline = Date.now() + 60_000;
  // Visibility is eventually consistent: reload until the row shows up.
  for (;;) {
    await page.goto(LIST_URL, { waitUntil: 'domcontentloaded' });
    try {
      await row.first().waitFor({ state: 'visible', timeout: 10_000 });
      break;
    } catch (err) {
      if (Date.now() > deadline) {
        await failureShot('list');
        assert.fail(`${WORKFLOW_ID} is not listed at ${LIST_URL} after 60s\n${diagnostics()}`);
      }
    }
  }
  // The query is applied (shown as a filter chip) and nothing else is listed.
  const filter = page.getByText('ConnectorState', { exact: false }).first();
  await filter.waitFor({ state: 'visible' });
  await page.getByText(/^1\s+Workflow$/).first().waitFor({ state: 'visible', timeout: 15_000 })
    .catch(async () => {
      await failureShot('list');
      assert.fail(`the list at ${LIST_URL} does not say "1 Workflow"\n${diagnostics()}`);
    });
  await page.waitForLoadState('networkidle').catch(() => {});
  await page.screenshot({ path: path.join(SHOTS, 'webui-list.png') });
});

test(`${WORKFLOW_ID} shows its input decoded by the codec server`, { timeout: 120_000 }, async () => {
  await page.getByRole('link', { name: WORKFLOW_ID, exact: true }).first().click();
  await page.waitForURL(/\/workflows\/connection%3A[^/]+\/[^/]+\/history/, { timeout: 30_000 });

  // The Input panel shows the ConnectionWorkflowInput JSON in plain text only if the UI
  // decrypted it through the codec server.
  const want = `"ConnectionID": "${CONNECTION_ID}"`;
  try {
    await page.waitForFunction((s) => document.body.innerText.includes(s), want, { timeout: 30_000 });
  } catch {
    await failureShot('connection');
    assert.fail(`the workflow page does not show ${want} (payload not decoded?)\n${diagnostics()}`);
  }
  const input = page.locator('section, div').filter({ has: page.getByRole('heading', { name: 'Input', exact: true }) }).last();
  const inputText = await input.innerText().catch(() => '');
  assert.ok(inputText.includes(want), `the Input panel does not contain ${want}; it shows:\n${inputText.slice(0, 500)}`);
  assert.ok(!/binary\/encrypted/.test(inputText), 'the Input panel still shows the encrypted payload');

  assert.ok(decodeResponses.length > 0, `the UI never called ${CODEC_URL}/decode\n${diagnostics()}`);
  const bad = decodeResponses.filter((r) => !r.ok);
  assert.equal(bad.length, 0, `codec server /decode answered ${bad.map((r) => r.status).join(',')}\n${diagnostics()}`);

  await page.waitForLoadState('networkidle').catch(() => {});
  await page.screenshot({ path: path.join(SHOTS, 'webui-connection.png') });
});
