#!/usr/bin/env node
// The desktop modeling client's implicit sign-in in a real headless Chromium (Debian's
// /usr/bin/chromium, through playwright-core).
//
//   node tests/browser/implicit.mjs <authorize_url> <username> <password> <redirect_origin>
//
// Opens <authorize_url> (the login page), signs in, and lets the browser follow the
// server's answer to the client's redirect URI, which nothing serves: requests to
// <redirect_origin> are answered inside the browser (answerClientRedirects of launch.mjs). Then opens <authorize_url> once more in the same
// browser (the SSO session answers without the form). Prints ONE line of JSON:
//
//   {"url": "<URL the browser ended at, fragment included>",
//    "posted": {"url": "...", "body": "..."} | null,   // a form_post response's POST
//    "again_url": "<URL the second request ended at>",
//    "again_form": <whether the second request showed a login form>}
//
// Exits non-zero with a message on stderr on any failure; bounded by IMPLICIT_TIMEOUT_MS
// (default 20000).
import { launchChromium, answerClientRedirects } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.IMPLICIT_TIMEOUT_MS) || 20_000;
const CALLBACK_BODY = '<!doctype html><title>desktop client</title><p>signed in</p>';

const [authorizeUrl, username, password, redirectOrigin] = process.argv.slice(2);
if (!authorizeUrl || !username || !password || !redirectOrigin) {
  process.stderr.write(
    'usage: node tests/browser/implicit.mjs <authorize_url> <username> <password> <redirect_origin>\n',
  );
  process.exit(64);
}

const deadline = Date.now() + TIMEOUT_MS;
const remaining = () => Math.max(500, deadline - Date.now());

const complaints = [];

// Waits until the page's URL starts with `prefix` and that document has loaded.
async function landedAt(page, prefix, step) {
  try {
    await page.waitForURL((u) => u.href.startsWith(prefix), { timeout: remaining(), waitUntil: 'load' });
  } catch (err) {
    err.message = `${step}: ${err.message}\n  page at ${page.url()}` + complaints.map((c) => `\n  ${c}`).join('');
    throw err;
  }
  return page.url();
}

async function run() {
  const browser = await launchChromium(remaining());
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(remaining());
    page.setDefaultNavigationTimeout(remaining());

    page.on('console', (m) => {
      if (m.type() === 'error') complaints.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (r) =>
      complaints.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`),
    );
    page.on('pageerror', (e) => complaints.push(`page error: ${e.message}`));

    let posted = null;
    await answerClientRedirects(context, page, redirectOrigin, CALLBACK_BODY, {
      onRequest: (request) => {
        if (request.method === 'POST') {
          posted = { url: request.url, body: request.postData ?? '' };
        }
      },
      onError: (url, err) => process.stderr.write(`implicit.mjs: fulfilling ${url}: ${err}\n`),
    });

    const first = await page.goto(authorizeUrl, { waitUntil: 'load' });
    if (!first || first.status() !== 200) {
      throw new Error(`GET ${authorizeUrl} answered ${first && first.status()} (expected the login page)`);
    }
    const form = page.locator('form[method="post" i]');
    await form.locator('input[name="username"]').fill(username);
    await form.locator('input[name="password"]').fill(password);
    if ((await form.locator('input[name="remember"]').count()) !== 0) {
      throw new Error('the login page offers "Stay signed in" to a client that hides it');
    }
    await form.locator('button[type="submit"]').click();
    const url = await landedAt(page, redirectOrigin, 'after the sign-in');

    // The same browser asks again: the SSO session answers at once.
    await page.goto(authorizeUrl, { waitUntil: 'load' }).catch(() => {});
    const againUrl = await landedAt(page, redirectOrigin, 'with the SSO session');
    const againForm = (await page.locator('input[name="password"]').count()) > 0;

    return { url, posted, again_url: againUrl, again_form: againForm };
  } finally {
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write(`implicit.mjs: timed out after ${TIMEOUT_MS} ms\n`);
  process.exit(3);
}, TIMEOUT_MS + 5_000);
try {
  const result = await run();
  process.stdout.write(JSON.stringify(result) + '\n');
  clearTimeout(watchdog);
  process.exit(0);
} catch (err) {
  const message = String(err && err.message ? err.message : err).replace(/\x1b\[[0-9;]*m/g, '');
  process.stderr.write(`implicit.mjs: ${message}\n`);
  process.exit(1);
}
