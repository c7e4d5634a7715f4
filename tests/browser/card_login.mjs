#!/usr/bin/env node
// Drives a smart-card sign-in in a real headless Chromium: authserver's login page over
// native TLS (the server asks for a client certificate in the handshake) → the "Sign in
// with your smart card" button (#smart-card) → the client's redirect URI with our code, or
// our error page.
//
//   node tests/browser/card_login.mjs <authorize_url> card [<cert.pem> <key.pem>]
//   node tests/browser/card_login.mjs <authorize_url> password <username> <password>
//
// `card` presses the smart-card button, presenting the certificate if one is given (through
// playwright's `clientCertificates`: the context's traffic to the server's origin goes
// through playwright's own proxy, whose TLS client presents the certificate and key to the
// server); `password` fills the password form instead, with no certificate at all.
// The server's TLS certificate is from the tests' own CA, so certificate errors towards it
// are ignored.
//
// Prints ONE line of JSON: {"url": "<where the browser ended>", "title": "<its title>",
// "error_text": "<text of our error page's message>" | null, "pages": ["<url of each page
// seen>", ...], "offers_card": <the login page had the button>, "ms": <time from the
// authorize request to the end>}. The client's redirect URI http://localhost:8080/... is
// answered inside the browser (as in login.mjs). Exits non-zero with a message on stderr on
// any failure; bounded by LOGIN_TIMEOUT_MS (default 30000).
import { launchChromium } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.LOGIN_TIMEOUT_MS) || 30_000;
const CLIENT_ORIGIN = 'http://localhost:8080';
const CALLBACK_BODY = '<!doctype html><title>callback</title><p>callback</p>';

function usage(message) {
  process.stderr.write(
    `card_login.mjs: ${message}\n` +
      'usage: card_login.mjs <authorize_url> card [<cert.pem> <key.pem>]\n' +
      '       card_login.mjs <authorize_url> password <username> <password>\n',
  );
  process.exit(64);
}

const [authorizeUrl, action, first, second] = process.argv.slice(2);
let origin;
try {
  origin = new URL(authorizeUrl).origin;
} catch {
  usage(`not a URL: ${authorizeUrl}`);
}
if (action === 'card' ? Boolean(first) !== Boolean(second) : action !== 'password' || !second) {
  usage('expected `card` with both or neither of <cert.pem> <key.pem>, or `password` with both arguments');
}
const deadline = Date.now() + TIMEOUT_MS;
const remaining = () => Math.max(500, deadline - Date.now());

async function run() {
  const browser = await launchChromium(remaining());
  try {
    const options = { ignoreHTTPSErrors: true };
    if (action === 'card' && first) {
      options.clientCertificates = [{ origin, certPath: first, keyPath: second }];
    }
    const context = await browser.newContext(options);
    const page = await context.newPage();
    page.setDefaultTimeout(remaining());
    page.setDefaultNavigationTimeout(remaining());
    const pages = [];
    page.on('load', () => pages.push(page.url()));
    const failures = [];
    page.on('requestfailed', (r) => failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    const why = () => `\n  at ${page.url()}\n  pages: ${pages.join(' → ')}\n  failed: ${failures.join('; ')}`;
    const cdp = await context.newCDPSession(page);
    cdp.on('Fetch.requestPaused', (event) => {
      cdp
        .send('Fetch.fulfillRequest', {
          requestId: event.requestId,
          responseCode: 200,
          responseHeaders: [{ name: 'Content-Type', value: 'text/html; charset=utf-8' }],
          body: Buffer.from(CALLBACK_BODY).toString('base64'),
        })
        .catch(() => {});
    });
    await cdp.send('Fetch.enable', {
      patterns: [{ urlPattern: `${CLIENT_ORIGIN}/*`, requestStage: 'Request' }],
    });

    const started = Date.now();
    const login = await page.goto(authorizeUrl, { waitUntil: 'load' }).catch((err) => {
      err.message += why();
      throw err;
    });
    if (!login || login.status() !== 200) {
      throw new Error(`GET ${authorizeUrl} answered ${login && login.status()}, expected the login page${why()}`);
    }
    const offersCard = (await page.locator('#smart-card').count()) > 0;
    if (action === 'card') {
      if (!offersCard) throw new Error(`the login page has no #smart-card button${why()}`);
      await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.locator('#smart-card').click()]);
    } else {
      await page.locator('input[name="username"]').fill(first);
      await page.locator('input[name="password"]').fill(second);
      await Promise.all([
        page.waitForNavigation({ waitUntil: 'load' }),
        page.locator('button[type="submit"]:not(#smart-card)').first().click(),
      ]);
    }
    const ms = Date.now() - started;
    const errorEl = page.locator('.error');
    const errorText = (await errorEl.count()) > 0 ? ((await errorEl.first().textContent()) ?? '').trim() : null;
    return { url: page.url(), title: await page.title(), error_text: errorText, pages, offers_card: offersCard, ms };
  } finally {
    await browser.close().catch(() => {});
  }
}

const watchdog = setTimeout(() => {
  process.stderr.write(`card_login.mjs: timed out after ${TIMEOUT_MS} ms\n`);
  process.exit(3);
}, TIMEOUT_MS + 5_000);
try {
  const result = await run();
  process.stdout.write(JSON.stringify(result) + '\n');
  clearTimeout(watchdog);
  process.exit(0);
} catch (err) {
  const message = String(err && err.message ? err.message : err).replace(/\x1b\[[0-9;]*m/g, '');
  process.stderr.write(`card_login.mjs: ${message}\n`);
  process.exit(1);
}
