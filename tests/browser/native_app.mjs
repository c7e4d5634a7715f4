#!/usr/bin/env node
// A native app signing in the RFC 8252 way, with openid-client as the relying party:
// discovery through Teamwork Cloud 2024x's path, a loopback redirect on a random port,
// authorization code + PKCE, the user in headless Chromium (the system browser).
//
//   node tests/browser/native_app.mjs <discovery_url> <client_id> <client_secret> <username> <password>
//
// 1. openid-client's discovery() reads <discovery_url> (a /.well-known/ URL is fetched as is).
// 2. The app listens on 127.0.0.1:0 (a port the OS picks) and uses
//    http://127.0.0.1:{port}/native as its redirect URI; the server's whitelist holds
//    http://127.0.0.1/native, which admits any port (RFC 8252 §7.3).
// 3. Chromium opens the authorization URL, the user signs in, the server's 303 brings the
//    browser to the app's listener, which takes the code.
// 4. openid-client checks state and iss, exchanges the code with the PKCE verifier
//    (client_secret_basic) and validates the ID token (signature, nonce, audience).
//
// Prints ONE line of JSON: {"port", "redirect_uri", "issuer", "token_endpoint",
// "sub", "scope", "has_refresh_token", "callback_query_keys"}. Exits non-zero with a
// message on stderr on any failure; bounded by NATIVE_TIMEOUT_MS (default 30000).
import http from 'node:http';
import * as client from 'openid-client';
import { launchChromium } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.NATIVE_TIMEOUT_MS) || 30_000;
const deadline = Date.now() + TIMEOUT_MS;
const remaining = () => Math.max(500, deadline - Date.now());

function fail(message) {
  process.stderr.write(`native_app.mjs: ${message}\n`);
  process.exit(1);
}

const args = process.argv.slice(2);
if (args.length !== 5) {
  process.stderr.write(
    'usage: node tests/browser/native_app.mjs <discovery_url> <client_id> <client_secret> <username> <password>\n',
  );
  process.exit(64);
}
const [discoveryUrl, clientId, clientSecret, username, password] = args;

// The app's loopback listener: resolves with the first request to /native.
function listen() {
  let resolveCallback;
  const callback = new Promise((resolve) => (resolveCallback = resolve));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname !== '/native') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>signed in</title><p>You can close this window.</p>');
    resolveCallback(url);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve({ server, callback }));
  });
}

async function browserSignIn(authorizationUrl) {
  const browser = await launchChromium(remaining());
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(remaining());
    const response = await page.goto(authorizationUrl, { waitUntil: 'load' });
    if (!response || response.status() !== 200) {
      throw new Error(`the authorization URL answered ${response?.status()}, not the login page`);
    }
    const form = page.locator('form[method="post" i]');
    await form.locator('input[name="username"]').fill(username);
    await form.locator('input[name="password"][type="password"]').fill(password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/native', { waitUntil: 'load' }),
      form.locator('button[type="submit"]').click(),
    ]);
    return page.url();
  } finally {
    await browser.close();
  }
}

async function run() {
  const config = await client.discovery(
    new URL(discoveryUrl),
    clientId,
    undefined,
    client.ClientSecretBasic(clientSecret),
    { execute: [client.allowInsecureRequests], timeout: Math.ceil(remaining() / 1000) },
  );
  const metadata = config.serverMetadata();

  const { server, callback } = await listen();
  try {
    const { port } = server.address();
    const redirectUri = `http://127.0.0.1:${port}/native`;
    const codeVerifier = client.randomPKCECodeVerifier();
    const codeChallenge = await client.calculatePKCECodeChallenge(codeVerifier);
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      state,
      nonce,
    });

    const landedOn = await browserSignIn(authorizationUrl.href);
    const callbackUrl = await Promise.race([
      callback,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error('the app never got the callback')), remaining()),
      ),
    ]);
    if (new URL(landedOn).port !== String(port)) {
      throw new Error(`the browser landed on ${landedOn}, not on port ${port}`);
    }

    const tokens = await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    process.stdout.write(
      JSON.stringify({
        port,
        redirect_uri: redirectUri,
        issuer: metadata.issuer,
        token_endpoint: metadata.token_endpoint,
        sub: claims?.sub ?? null,
        scope: tokens.scope ?? null,
        has_refresh_token: typeof tokens.refresh_token === 'string' && tokens.refresh_token.length > 0,
        callback_query_keys: [...callbackUrl.searchParams.keys()].sort(),
      }) + '\n',
    );
  } finally {
    server.close();
  }
}

const timer = setTimeout(() => fail(`timed out after ${TIMEOUT_MS} ms`), TIMEOUT_MS + 1000);
run()
  .then(() => {
    clearTimeout(timer);
    process.exit(0);
  })
  .catch((err) => fail(`${err?.stack || err}${err?.cause ? `\ncause: ${JSON.stringify(err.cause)}` : ''}`));
