#!/usr/bin/env node
// The device authorization grant (RFC 8628) with a real relying party, openid-client, and a
// real user in headless Chromium (Debian's /usr/bin/chromium through playwright-core).
//
//   node tests/browser/device.mjs <issuer> <client_id> <client_secret> <username> <password>
//
// openid-client discovers the issuer, starts the device authorization
// (initiateDeviceAuthorization, client_secret_basic) and starts polling
// (pollDeviceAuthorizationGrant) while the browser opens verification_uri_complete, signs
// in on the form and clicks Allow. Prints ONE line of JSON to stdout:
//
//   {"user_code": "...", "verification_uri_complete": "...", "confirm_text": "...",
//    "done_title": "...", "claims": {...id token claims...}, "scope": "...",
//    "has_access_token": true, "has_refresh_token": true}
//
// Exits non-zero with a message on stderr on any failure; bounded by DEVICE_TIMEOUT_MS
// (default 60000).
import * as oidc from 'openid-client';
import { launchChromium } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.DEVICE_TIMEOUT_MS) || 60_000;

const args = process.argv.slice(2);
if (args.length !== 5) {
  process.stderr.write(
    'usage: node tests/browser/device.mjs <issuer> <client_id> <client_secret> <username> <password>\n',
  );
  process.exit(64);
}
const [issuer, clientId, clientSecret, username, password] = args;

async function approveInBrowser(url) {
  const browser = await launchChromium(TIMEOUT_MS);
  try {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await page.goto(url);
    const filled = await page.inputValue('#user_code');
    await page.fill('#username', username);
    await page.fill('#password', password);
    await Promise.all([page.waitForURL('**/device'), page.click('button[type=submit]')]);
    await page.waitForSelector('button[value=approve]');
    const confirmText = await page.innerText('main');
    await Promise.all([page.waitForLoadState(), page.click('button[value=approve]')]);
    await page.waitForSelector('h1:has-text("Device connected")');
    const doneTitle = await page.innerText('h1');
    return { filled, confirmText, doneTitle };
  } finally {
    await browser.close();
  }
}

async function run() {
  const config = await oidc.discovery(
    new URL(issuer),
    clientId,
    undefined,
    oidc.ClientSecretBasic(clientSecret),
    { execute: [oidc.allowInsecureRequests] },
  );
  const started = await oidc.initiateDeviceAuthorization(config, {
    scope: 'openid profile email',
  });
  const controller = new AbortController();
  // polls until the user decides (authorization_pending, slow_down handled by the library)
  const polling = oidc.pollDeviceAuthorizationGrant(config, started, undefined, {
    signal: controller.signal,
  });
  polling.catch(() => {});
  let approved;
  try {
    approved = await approveInBrowser(started.verification_uri_complete);
  } catch (e) {
    controller.abort();
    throw e;
  }
  const tokens = await polling;
  return {
    user_code: started.user_code,
    verification_uri_complete: started.verification_uri_complete,
    filled_code: approved.filled,
    confirm_text: approved.confirmText,
    done_title: approved.doneTitle,
    claims: tokens.claims(),
    scope: tokens.scope,
    has_access_token: typeof tokens.access_token === 'string' && tokens.access_token.length > 0,
    has_refresh_token: typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0,
  };
}

const timer = setTimeout(() => {
  process.stderr.write(`device.mjs: no result within ${TIMEOUT_MS} ms\n`);
  process.exit(1);
}, TIMEOUT_MS);
try {
  const result = await run();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  process.stderr.write(`device.mjs: ${e?.stack || e}\n`);
  if (e?.cause) process.stderr.write(`cause: ${JSON.stringify(e.cause)}\n`);
  process.exit(1);
}
