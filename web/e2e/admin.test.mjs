// Browser test of the admin page: link a session by QR through the page, send a
// message with the form, see replies arrive live.
//
// It drives a running wagate and the WhatsApp simulator, found through:
//   WAGATE_URL    wagate's base URL (serves the page and the API)
//   WAGATE_TOKEN  an API token for wagate
//   WASIM_URL     the simulator's control API base URL
//   PHONE         a simulator phone, already created, that links the session
//   PHONE2        a second simulator phone, already created, that we message
//   OUT_DIR       where screenshots go (default: a temporary folder)
//   CHROMIUM      the browser binary (default: the distribution's chromium package)
// Without WAGATE_URL the test is skipped. Run: node --test admin.test.mjs

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const env = process.env;
const missing = ['WAGATE_URL', 'WAGATE_TOKEN', 'WASIM_URL', 'PHONE', 'PHONE2'].filter((k) => !env[k]);
const skip = missing.length ? `set ${missing.join(', ')} to run the admin page test` : false;

const BASE = (env.WAGATE_URL || '').replace(/\/+$/, '');
const SIM = (env.WASIM_URL || '').replace(/\/+$/, '');
const TOKEN = env.WAGATE_TOKEN || '';
const LINK_TIMEOUT = 60_000;

/** api calls wagate's API directly, as the test's second pair of eyes. */
async function api(method, p, body) {
  const res = await fetch(BASE + p, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, data: text ? JSON.parse(text) : null };
}

async function sim(method, p, body) {
  const res = await fetch(SIM + p, {
    method,
    headers: body ? { 'Content-Type': 'application/json' } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  assert.ok(res.ok, `${method} ${p}: HTTP ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** eventually polls fn until it returns a truthy value, for at most ms. */
async function eventually(what, fn, ms = 30_000) {
  const deadline = Date.now() + ms;
  let last;
  for (let i = 0; Date.now() < deadline; i++) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, Math.min(250 * (i + 1), 1000)));
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

test('admin page links a session by QR, sends and receives messages', { skip, timeout: 240_000 }, async (t) => {
  const outDir = env.OUT_DIR || await fs.mkdtemp(path.join(os.tmpdir(), 'wagate-e2e-shots-'));
  await fs.mkdir(outDir, { recursive: true });
  const profile = await fs.mkdtemp(path.join(os.tmpdir(), 'wagate-e2e-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
  });
  t.after(async () => {
    await context.close();
    await fs.rm(profile, { recursive: true, force: true });
  });
  const page = context.pages()[0] || await context.newPage();
  const pageErrors = [];
  page.on('pageerror', (err) => pageErrors.push(err.message));
  const shot = (name) => page.screenshot({ path: path.join(outDir, name), fullPage: true });

  // The token comes in through the URL once and leaves the address bar.
  await page.goto(`${BASE}/#token=${encodeURIComponent(TOKEN)}`);
  await page.getByRole('heading', { name: 'Messenger Settings' }).waitFor();
  assert.ok(!page.url().includes(TOKEN), 'the token stays in the address bar');
  await page.getByRole('heading', { name: 'Sessions' }).waitFor();

  // Create a session through the settings form.
  const id = 'e2e-' + Date.now().toString(36);
  await page.getByLabel('Session ID', { exact: true }).fill(id);
  const name = `E2E desk ${id}`;
  await page.getByLabel('Display name', { exact: true }).fill(name);
  await page.getByRole('button', { name: 'Save session', exact: true }).click();
  const card = page.getByRole('article', { name, exact: true });
  await card.waitFor();
  assert.equal((await api('GET', `/v1/sessions/${id}`)).status, 200, 'the session exists on the server');
  await shot('01-created.png');

  // Connect: a QR code appears; the simulator's phone scans the code the API reports.
  await card.getByRole('button', { name: 'Connect', exact: true }).click();
  const qrImage = card.locator('img[alt="WhatsApp QR code"]');
  await qrImage.waitFor({ state: 'visible', timeout: LINK_TIMEOUT });
  await eventually('the QR image to load', () => qrImage.evaluate((img) => img.complete && img.naturalWidth > 0));
  await shot('02-qr.png');
  const qr = await eventually('a QR code from the API', async () => {
    const r = await api('GET', `/v1/sessions/${id}/qr`);
    return r.status === 200 && r.data && r.data.code ? r.data.code : null;
  });
  await sim('POST', `/_sim/phones/${env.PHONE}/scan`, { qr });

  // The page shows the status word and the linked phone number.
  await card.getByText('connected', { exact: true }).waitFor({ timeout: LINK_TIMEOUT });
  await card.getByText('+' + env.PHONE, { exact: true }).waitFor();
  assert.ok(await qrImage.isHidden(), 'the QR code is gone once linked');
  await shot('03-connected.png');

  // Send a message with the form; it shows in the inbox and reaches the other phone.
  const outText = `hello from the admin page ${Date.now()}`;
  await card.getByLabel('To (phone or JID)', { exact: true }).fill(env.PHONE2);
  await card.getByLabel('Message', { exact: true }).fill(outText);
  await card.getByRole('button', { name: 'Send', exact: true }).click();
  const outItem = card.locator('li.msg.out', { hasText: outText });
  await outItem.waitFor();
  assert.match(await outItem.innerText(), /\bout\b/);
  await eventually('PHONE2 to receive the message', async () => {
    const got = await sim('GET', `/_sim/phones/${env.PHONE2}/messages`);
    return (got.messages || []).some((m) => m.text === outText);
  }, LINK_TIMEOUT);
  await card.locator('li.msg.out', { hasText: outText }).locator('.ticks').filter({ hasNotText: 'queued' })
    .waitFor({ timeout: LINK_TIMEOUT });
  await shot('04-sent.png');

  // A reply from PHONE2 arrives live (no reload) as an incoming message.
  const inText = `reply from phone two ${Date.now()}`;
  await sim('POST', `/_sim/phones/${env.PHONE2}/messages`, { to: env.PHONE, text: inText });
  const inItem = card.locator('li.msg.in', { hasText: inText });
  await inItem.waitFor({ timeout: LINK_TIMEOUT });
  assert.match(await inItem.innerText(), /\bin\b/);
  await shot('05-received.png');

  assert.deepEqual(pageErrors, [], 'the page threw no errors');
});
