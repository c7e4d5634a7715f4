#!/usr/bin/env node
// Drives authserver's sign-in page in a real headless Chromium (Debian's /usr/bin/chromium,
// through playwright-core) and reports what happened.
//
//   node tests/browser/login.mjs <authorize_url> <username> <password> [--screenshot=PATH] [--remember]
//
// Opens <authorize_url> (the login page), fills `username` and `password`, optionally ticks
// `remember`, clicks the submit button and prints ONE line of JSON to stdout:
//
//   {"url": "<final url after submit>", "title": "<title of the login page>",
//    "status": <status of the POST response>, "error_text": "<text of .error>" | null}
//
// The client's redirect URI http://localhost:8080/... is answered inside the browser (nothing
// listens there), so a successful sign-in ends on http://localhost:8080/callback?code=...
// (the page that prints is the real URL the browser landed on, query string and all).
// Exits non-zero with a message on stderr on any failure; the whole run is bounded by
// LOGIN_TIMEOUT_MS (default 20000).
import { launchChromium, answerClientRedirects } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.LOGIN_TIMEOUT_MS) || 20_000;
// The registered client's redirect URI origin, and what it "answers".
const CLIENT_ORIGIN = 'http://localhost:8080';
const CALLBACK_BODY = '<!doctype html><title>callback</title><p>callback</p>';

function usage(message) {
  process.stderr.write(
    `login.mjs: ${message}\n` +
      'usage: node tests/browser/login.mjs <authorize_url> <username> <password> [--screenshot=PATH] [--remember]\n',
  );
  process.exit(64);
}

function parseArgs(argv) {
  const positional = [];
  const opts = { screenshot: null, remember: false };
  for (const arg of argv) {
    if (arg.startsWith('--screenshot=')) {
      opts.screenshot = arg.slice('--screenshot='.length);
      if (!opts.screenshot) usage('--screenshot needs a path');
    } else if (arg === '--remember') {
      opts.remember = true;
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 3) usage('expected exactly 3 positional arguments');
  const [authorizeUrl, username, password] = positional;
  try {
    new URL(authorizeUrl);
  } catch {
    usage(`not a URL: ${authorizeUrl}`);
  }
  return { authorizeUrl, username, password, ...opts };
}

// Every step gets what is left of the overall budget.
const deadline = Date.now() + TIMEOUT_MS;
const remaining = () => Math.max(500, deadline - Date.now());

async function run({ authorizeUrl, username, password, screenshot, remember }) {
  const browser = await launchChromium(remaining());
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(remaining());
    page.setDefaultNavigationTimeout(remaining());

    // What the page complained about, for failure messages.
    const complaints = [];
    page.on('console', (m) => {
      if (m.type() === 'error') complaints.push(`console: ${m.text()}`);
    });
    page.on('requestfailed', (r) =>
      complaints.push(`request failed: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`),
    );
    page.on('pageerror', (e) => complaints.push(`page error: ${e.message}`));
    const diagnostics = () =>
      `\n  page at ${page.url()}` + complaints.map((c) => `\n  ${c}`).join('');

    // The client application: nothing listens on localhost:8080, so answer its requests
    // inside the browser (see launch.mjs for why not page.route()).
    await answerClientRedirects(context, page, CLIENT_ORIGIN, CALLBACK_BODY, {
      onError: (url, err) => process.stderr.write(`login.mjs: fulfilling ${url}: ${err}\n`),
    });

    // 1. The login page.
    const getResponse = await page.goto(authorizeUrl, { waitUntil: 'load', timeout: remaining() });
    if (!getResponse) throw new Error(`no response for GET ${authorizeUrl}`);
    if (getResponse.status() !== 200) {
      const body = (await getResponse.text().catch(() => '')).slice(0, 500);
      throw new Error(
        `GET ${authorizeUrl} answered ${getResponse.status()} (expected the login page, 200): ${body}`,
      );
    }
    const title = await page.title();

    const form = page.locator('form[method="post" i]');
    if ((await form.count()) !== 1) {
      throw new Error(`expected one <form method="post"> on the login page, found ${await form.count()}`);
    }
    const usernameInput = form.locator('input[name="username"]');
    const passwordInput = form.locator('input[name="password"][type="password"]');
    const rememberBox = form.locator('input[type="checkbox"][name="remember"]');
    const submit = form.locator('button[type="submit"]');
    for (const [what, loc] of [
      ['<input name="username">', usernameInput],
      ['<input name="password" type="password">', passwordInput],
      ['<input type="checkbox" name="remember">', rememberBox],
      ['<button type="submit">', submit],
    ]) {
      const n = await loc.count();
      if (n !== 1) throw new Error(`expected one ${what} in the login form, found ${n}`);
    }

    await usernameInput.fill(username);
    await passwordInput.fill(password);
    if (remember) await rememberBox.check();

    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });

    // 2. Submit. Wait for the response to the form's POST (a 303 on success, a re-rendered
    // page otherwise) and for the document the browser finally lands on to load. A POST that
    // the browser itself refuses (e.g. a CSP form-action that does not allow the redirect
    // target) never gets a response: fail at once with the browser's reason.
    const mainFrame = page.mainFrame();
    const isFormPost = (req) =>
      req.method() === 'POST' && req.isNavigationRequest() && req.frame() === mainFrame;
    const postResponse = page.waitForResponse((r) => isFormPost(r.request()), { timeout: remaining() });
    const landed = page.waitForEvent('load', { timeout: remaining() });
    const refused = page
      .waitForEvent('requestfailed', { predicate: isFormPost, timeout: remaining() })
      .then(async (req) => {
        // the console message that says why (e.g. the CSP violation) comes just after
        await new Promise((r) => setTimeout(r, 300));
        throw new Error(
          `the browser did not complete the form POST to ${req.url()}: ${req.failure()?.errorText}` +
            diagnostics(),
        );
      });
    // whichever of these loses the race must not become an unhandled rejection later
    for (const p of [postResponse, landed, refused]) p.catch(() => {});
    await submit.click({ timeout: remaining() });
    let response;
    try {
      [response] = await Promise.race([Promise.all([postResponse, landed]), refused]);
    } catch (err) {
      if (err && err.name === 'TimeoutError') err.message += diagnostics();
      throw err;
    }
    const status = response.status();

    const errorEl = page.locator('.error');
    const errorText =
      (await errorEl.count()) > 0 ? ((await errorEl.first().textContent()) ?? '').trim() : null;

    return { url: page.url(), title, status, error_text: errorText };
  } finally {
    await browser.close().catch(() => {});
  }
}

const args = parseArgs(process.argv.slice(2));
// Last resort if something hangs outside Playwright's own timeouts (e.g. closing the browser).
const watchdog = setTimeout(() => {
  process.stderr.write(`login.mjs: timed out after ${TIMEOUT_MS} ms\n`);
  process.exit(3);
}, TIMEOUT_MS + 5_000);
try {
  const result = await run(args);
  process.stdout.write(JSON.stringify(result) + '\n');
  clearTimeout(watchdog);
  process.exit(0);
} catch (err) {
  // Playwright's messages carry the call log; its stack adds nothing.
  const message = String(err && err.message ? err.message : err).replace(/\x1b\[[0-9;]*m/g, '');
  process.stderr.write(`login.mjs: ${message}\n`);
  process.exit(1);
}
