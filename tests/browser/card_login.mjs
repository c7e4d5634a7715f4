#!/usr/bin/env node
// Drives a smart-card sign-in in a real headless Chromium: authserver's login page over
// native TLS (the server asks for a client certificate in the handshake) → the "Sign in
// with your smart card" button (#smart-card) → the client's redirect URI with our code, or
// our error page.
//
//   node tests/browser/card_login.mjs <authorize_url> card [<cert.pem> <key.pem> [--via=nss|playwright]]
//   node tests/browser/card_login.mjs <authorize_url> password <username> <password>
//
// `card` presses the smart-card button, presenting the certificate if one is given, in one
// of two ways:
// - `--via=nss` (the default): as a user's Chromium on Linux does. The certificate and key
//   go into an NSS database in a temporary HOME (`~/.pki/nssdb`, with `openssl pkcs12`,
//   `certutil` and `pk12util` from libnss3-tools), and the profile's auto-select-certificate
//   setting (what the AutoSelectCertificateForUrls policy sets) picks it for the server's
//   origin, so Chromium's own TLS stack presents it without a dialog (headless Chromium
//   would otherwise wait for the selection forever).
// - `--via=playwright`: playwright's `clientCertificates`. The context's traffic then goes
//   through playwright's proxy in this node process, whose TLS client (node's, not
//   Chromium's) presents the certificate to the server.
// `password` fills the password form instead, with no certificate at all. The server's TLS
// certificate is from the tests' own CA, so certificate errors towards it are ignored.
//
// Prints ONE line of JSON: {"url": "<where the browser ended>", "title": "<its title>",
// "error_text": "<text of our error page's message>" | null, "pages": ["<url of each page
// seen>", ...], "offers_card": <the login page had the button>, "ms": <time from the
// authorize request to the end>}. The client's redirect URI http://localhost:8080/... is
// answered inside the browser (as in login.mjs). Exits non-zero with a message on stderr on
// any failure; bounded by LOGIN_TIMEOUT_MS (default 30000).
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { launchChromium, launchChromiumWithProfile, answerClientRedirects } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.LOGIN_TIMEOUT_MS) || 30_000;
const CLIENT_ORIGIN = 'http://localhost:8080';
const CALLBACK_BODY = '<!doctype html><title>callback</title><p>callback</p>';

function usage(message) {
  process.stderr.write(
    `card_login.mjs: ${message}\n` +
      'usage: card_login.mjs <authorize_url> card [<cert.pem> <key.pem> [--via=nss|playwright]]\n' +
      '       card_login.mjs <authorize_url> password <username> <password>\n',
  );
  process.exit(64);
}

const args = process.argv.slice(2);
const viaArg = args.find((a) => a.startsWith('--via='));
const via = viaArg ? viaArg.slice('--via='.length) : 'nss';
const [authorizeUrl, action, first, second, ...rest] = args.filter((a) => a !== viaArg);
let origin;
try {
  origin = new URL(authorizeUrl).origin;
} catch {
  usage(`not a URL: ${authorizeUrl}`);
}
if (rest.length > 0 || !['nss', 'playwright'].includes(via)) usage(`unexpected ${[viaArg, ...rest]}`);
if (action === 'card' ? Boolean(first) !== Boolean(second) : action !== 'password' || !second) {
  usage('expected `card` with both or neither of <cert.pem> <key.pem>, or `password` with both arguments');
}
const card = action === 'card' && first ? { certPath: first, keyPath: second } : null;

function runTool(command, argv) {
  try {
    execFileSync(command, argv, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`${command} ${argv.join(' ')}: ${err.stderr || err.message}`);
  }
}

// A HOME whose NSS database holds the card, and a profile that picks it for `origin` by
// its issuer's common name; returns the HOME and the profile directory.
function nssProfile(dir) {
  const home = join(dir, 'home');
  const db = join(home, '.pki', 'nssdb');
  mkdirSync(db, { recursive: true });
  const p12 = join(dir, 'card.p12');
  runTool('openssl', ['pkcs12', '-export', '-in', card.certPath, '-inkey', card.keyPath, '-out', p12, '-passout', 'pass:', '-name', 'card']);
  runTool('certutil', ['-N', '-d', `sql:${db}`, '--empty-password']);
  runTool('pk12util', ['-i', p12, '-d', `sql:${db}`, '-W', '']);
  const issuer = new X509Certificate(readFileSync(card.certPath)).issuer;
  const issuerCn = issuer.split('\n').find((l) => l.startsWith('CN=')).slice(3);
  const profile = join(dir, 'profile');
  mkdirSync(join(profile, 'Default'), { recursive: true });
  const setting = { [`${origin},*`]: { setting: { filters: [{ ISSUER: { CN: issuerCn } }] } } };
  writeFileSync(
    join(profile, 'Default', 'Preferences'),
    JSON.stringify({ profile: { content_settings: { exceptions: { auto_select_certificate: setting } } } }),
  );
  return { home, profile };
}

const deadline = Date.now() + TIMEOUT_MS;
const remaining = () => Math.max(500, deadline - Date.now());

async function run() {
  const dir = mkdtempSync(join(tmpdir(), 'card-login-'));
  let browser = null;
  let context;
  try {
    if (card && via === 'nss') {
      const { home, profile } = nssProfile(dir);
      context = await launchChromiumWithProfile(profile, remaining(), {
        ignoreHTTPSErrors: true,
        env: { ...process.env, HOME: home },
      });
    } else {
      browser = await launchChromium(remaining());
      const options = { ignoreHTTPSErrors: true };
      if (card) options.clientCertificates = [{ origin, ...card }];
      context = await browser.newContext(options);
    }
    const page = await context.newPage();
    page.setDefaultTimeout(remaining());
    page.setDefaultNavigationTimeout(remaining());
    const pages = [];
    page.on('load', () => pages.push(page.url()));
    const failures = [];
    page.on('requestfailed', (r) => failures.push(`${r.method()} ${r.url()}: ${r.failure()?.errorText}`));
    const why = () => `\n  at ${page.url()}\n  pages: ${pages.join(' → ')}\n  failed: ${failures.join('; ')}`;
    await answerClientRedirects(context, page, CLIENT_ORIGIN, CALLBACK_BODY);

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
    await (browser || context)?.close().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
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
