#!/usr/bin/env node
// Drives a sign-in through an upstream OpenID Connect provider in a real headless Chromium:
// authserver's login page → its "Sign in with <display name>" button → the provider's own
// login page (oidc-provider's development pages: any account name and password) → its
// consent page → authserver's callback → the client's redirect URI with our code.
//
//   node tests/browser/upstream_login.mjs <authorize_url> <button_text> <account>
//
// Prints ONE line of JSON: {"url": "<where the browser ended>", "title": "<its title>",
// "error_text": "<text of our error page's message>" | null, "pages": ["<url of each page
// seen>", ...], "ms": <time from the authorize request to the end>}. The client's redirect URI http://localhost:8080/... is answered inside the browser
// (as in login.mjs). Exits non-zero with a message on stderr on any failure; bounded by
// LOGIN_TIMEOUT_MS (default 30000).
import { launchChromium, answerClientRedirects } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.LOGIN_TIMEOUT_MS) || 30_000;
const CLIENT_ORIGIN = 'http://localhost:8080';
const CALLBACK_BODY = '<!doctype html><title>callback</title><p>callback</p>';

const [authorizeUrl, buttonText, account] = process.argv.slice(2);
if (!account) {
  process.stderr.write('usage: upstream_login.mjs <authorize_url> <button_text> <account>\n');
  process.exit(64);
}
const deadline = Date.now() + TIMEOUT_MS;
const remaining = () => Math.max(500, deadline - Date.now());

async function run() {
  const browser = await launchChromium(remaining());
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(remaining());
    // the provider's dev pages import a web font: this machine has no internet
    await page.route(/fonts\.googleapis\.com/, (route) => route.abort());
    const pages = [];
    page.on('load', () => pages.push(page.url()));
    const failures = [];
    page.on('requestfailed', (r) => failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    const why = () => `\n  at ${page.url()}\n  pages: ${pages.join(' → ')}\n  failed: ${failures.join('; ')}`;
    await answerClientRedirects(context, page, CLIENT_ORIGIN, CALLBACK_BODY);

    const started = Date.now();
    // 1. our login page
    const first = await page.goto(authorizeUrl, { waitUntil: 'load' });
    if (!first || first.status() !== 200) {
      throw new Error(`GET ${authorizeUrl} answered ${first && first.status()}, expected the login page`);
    }
    // 2. the button: a link to /upstream/<name>/start, which redirects to the provider
    await page.getByRole('link', { name: buttonText, exact: true }).click();
    await page.waitForLoadState('load');
    // 3. the provider's login page, then its consent page; then back through our callback
    const finished = () => page.url().startsWith(CLIENT_ORIGIN) || !page.url().includes('/interaction/');
    try {
    for (let step = 0; step < 4 && !finished(); step += 1) {
      const login = page.locator('input[name="login"]');
      if ((await login.count()) > 0) {
        await login.fill(account);
        await page.locator('input[name="password"]').fill('any-password');
      }
      await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        page.locator('button[type="submit"]').first().click(),
      ]);
    }
    } catch (err) {
      err.message += why();
      throw err;
    }
    if (!page.url().startsWith(CLIENT_ORIGIN)) {
      await page.waitForURL((u) => u.href.startsWith(CLIENT_ORIGIN), { timeout: 2_000 }).catch(() => {});
    }
    const ms = Date.now() - started;
    const errorEl = page.locator('.error');
    const errorText = (await errorEl.count()) > 0 ? ((await errorEl.first().textContent()) ?? '').trim() : null;
    return { url: page.url(), title: await page.title(), error_text: errorText, pages, ms };
  } finally {
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write(`upstream_login.mjs: timed out after ${TIMEOUT_MS} ms\n`);
  process.exit(3);
}, TIMEOUT_MS + 5_000);
try {
  const result = await run();
  process.stdout.write(JSON.stringify(result) + '\n');
  clearTimeout(watchdog);
  process.exit(0);
} catch (err) {
  const message = String(err && err.message ? err.message : err).replace(/\x1b\[[0-9;]*m/g, '');
  process.stderr.write(`upstream_login.mjs: ${message}\n`);
  process.exit(1);
}
