#!/usr/bin/env node
// Drives a SAML single sign-on in a real headless Chromium: authserver's login page → its
// single sign-on button (a link to /saml2/login) → the identity provider's own login page
// (SimpleSAMLphp's user name and password form) → its page that posts the response back
// (HTTP-POST binding, submitted by its own script) → authserver's assertion consumer →
// /saml2/continue → the client's redirect URI with our code.
//
//   node tests/browser/saml_login.mjs <authorize_url> <button_text> <user> <password>
//
// Prints ONE line of JSON: {"url": "<where the browser ended>", "title": "<its title>",
// "error_text": "<text of an error message on the last page>" | null, "pages": ["<url of each
// page seen>", ...], "ms": <time from the authorize request to the end>}. The client's
// redirect URI http://localhost:8080/... is answered inside the browser (as in login.mjs).
// An empty <button_text> means the browser is expected to go straight to the identity
// provider. Exits non-zero with a message on stderr on any failure; bounded by
// LOGIN_TIMEOUT_MS (default 30000).
import { launchChromium, answerClientRedirects } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.LOGIN_TIMEOUT_MS) || 30_000;
const CLIENT_ORIGIN = 'http://localhost:8080';
const CALLBACK_BODY = '<!doctype html><title>callback</title><p>callback</p>';

const [authorizeUrl, buttonText, user, password] = process.argv.slice(2);
if (password === undefined) {
  process.stderr.write('usage: saml_login.mjs <authorize_url> <button_text> <user> <password>\n');
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
    const pages = [];
    page.on('load', () => pages.push(page.url()));
    const failures = [];
    page.on('requestfailed', (r) => failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    const why = () => `\n  at ${page.url()}\n  pages: ${pages.join(' → ')}\n  failed: ${failures.join('; ')}`;
    await answerClientRedirects(context, page, CLIENT_ORIGIN, CALLBACK_BODY);

    const started = Date.now();
    const authserverOrigin = new URL(authorizeUrl).origin;
    // 1. our login page (or, with no password form, straight on to the identity provider)
    const first = await page.goto(authorizeUrl, { waitUntil: 'load' });
    if (!first || first.status() >= 400) {
      throw new Error(`GET ${authorizeUrl} answered ${first && first.status()}`);
    }
    // 2. the single sign-on button: a link to /saml2/login, which redirects to the IdP
    if (buttonText) {
      await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        page.getByRole('link', { name: buttonText, exact: true }).click(),
      ]);
    }
    // 3. the identity provider's login form; its next page posts the response to our
    //    assertion consumer by itself, and we redirect on to the client
    try {
      for (let step = 0; step < 4; step += 1) {
        if (page.url().startsWith(CLIENT_ORIGIN)) break;
        if (page.url().startsWith(authserverOrigin)) break;
        const username = page.locator('input[name="username"]');
        if ((await username.count()) > 0) {
          await username.fill(user);
          await page.locator('input[name="password"]').fill(password);
          await Promise.all([
            page.waitForURL((u) => !u.href.includes('loginuserpass'), { waitUntil: 'load' }),
            page.locator('button[type="submit"], input[type="submit"]').first().click(),
          ]);
          continue;
        }
        // the auto-posting page: wait for it to leave
        await page.waitForURL((u) => u.href.startsWith(CLIENT_ORIGIN) || u.href.startsWith(authserverOrigin), {
          waitUntil: 'load',
        });
      }
    } catch (err) {
      err.message += why();
      throw err;
    }
    if (!page.url().startsWith(CLIENT_ORIGIN)) {
      await page.waitForURL((u) => u.href.startsWith(CLIENT_ORIGIN), { timeout: 3_000 }).catch(() => {});
    }
    const ms = Date.now() - started;
    const errorEl = page.locator('.error, p.message, main p');
    const errorText = page.url().startsWith(CLIENT_ORIGIN)
      ? null
      : (await errorEl.count()) > 0
        ? ((await errorEl.first().textContent()) ?? '').trim()
        : null;
    return { url: page.url(), title: await page.title(), error_text: errorText, pages, ms };
  } finally {
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write(`saml_login.mjs: timed out after ${TIMEOUT_MS} ms\n`);
  process.exit(3);
}, TIMEOUT_MS + 5_000);
try {
  const result = await run();
  process.stdout.write(JSON.stringify(result) + '\n');
  clearTimeout(watchdog);
  process.exit(0);
} catch (err) {
  const message = String(err && err.message ? err.message : err).replace(/\x1b\[[0-9;]*m/g, '');
  process.stderr.write(`saml_login.mjs: ${message}\n`);
  process.exit(1);
}
