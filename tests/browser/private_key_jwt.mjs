#!/usr/bin/env node
// openid-client as a registered client that authenticates with private_key_jwt (RFC 7523):
// client_credentials, then a user's sign-in (authorization code + PKCE, the user in headless
// Chromium), a refresh and userinfo, all with assertions signed by the client's key; and
// the same client with a key the server does not know, which must be refused.
//
//   node tests/browser/private_key_jwt.mjs <issuer> <client_id> <key> <kid> <wrong_key> <port> <username> <password>
//
// <key> and <wrong_key> are P-256 private keys, PKCS#8 DER in base64 (the server holds the
// public half of <key>, as `kid`). The app's redirect URI is http://127.0.0.1:<port>/cb (the
// one registered for the client). Prints ONE line of JSON:
//
//   {"client_credentials": {...}, "sign_in": {...}, "refreshed": {...}, "userinfo": {...},
//    "wrong_key": {"error": "...", "status": 401}}
//
// Exits non-zero with a message on stderr on any other failure; bounded by PKJWT_TIMEOUT_MS
// (default 60000).
import http from 'node:http';
import * as client from 'openid-client';
import { launchChromium } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.PKJWT_TIMEOUT_MS) || 60_000;

const args = process.argv.slice(2);
if (args.length !== 8) {
  process.stderr.write(
    'usage: node tests/browser/private_key_jwt.mjs <issuer> <client_id> <key> <kid> <wrong_key> <port> <username> <password>\n',
  );
  process.exit(64);
}
const [issuer, clientId, keyB64, kid, wrongKeyB64, port, username, password] = args;
const redirectUri = `http://127.0.0.1:${port}/cb`;

function importKey(b64) {
  return crypto.subtle.importKey(
    'pkcs8',
    Buffer.from(b64, 'base64'),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
}

async function configFor(key) {
  return client.discovery(
    new URL(issuer),
    clientId,
    undefined,
    client.PrivateKeyJwt({ key, kid }),
    { execute: [client.allowInsecureRequests] },
  );
}

// The app's redirect URI: resolves with the first request to /cb.
function listen() {
  let resolveCallback;
  const callback = new Promise((resolve) => (resolveCallback = resolve));
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, `http://${req.headers.host}`);
    if (url.pathname !== '/cb') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>signed in</title><p>Signed in.</p>');
    resolveCallback(url);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(port), '127.0.0.1', () => resolve({ server, callback }));
  });
}

async function browserSignIn(authorizationUrl) {
  const browser = await launchChromium(TIMEOUT_MS);
  try {
    const page = await browser.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    const response = await page.goto(authorizationUrl, { waitUntil: 'load' });
    if (!response || response.status() !== 200) {
      throw new Error(`the authorization URL answered ${response?.status()}, not the login page`);
    }
    const form = page.locator('form[method="post" i]');
    await form.locator('input[name="username"]').fill(username);
    await form.locator('input[name="password"][type="password"]').fill(password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/cb', { waitUntil: 'load' }),
      form.locator('button[type="submit"]').click(),
    ]);
  } finally {
    await browser.close();
  }
}

async function signIn(config) {
  const { server, callback } = await listen();
  try {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authorizationUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: redirectUri,
      scope: 'openid profile email',
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    await browserSignIn(authorizationUrl.href);
    const callbackUrl = await callback;
    return await client.authorizationCodeGrant(config, callbackUrl, {
      pkceCodeVerifier: codeVerifier,
      expectedState: state,
      expectedNonce: nonce,
      idTokenExpected: true,
    });
  } finally {
    server.close();
  }
}

async function run() {
  const config = await configFor(await importKey(keyB64));

  const service = await client.clientCredentialsGrant(config, { scope: 'profile' });
  const tokens = await signIn(config);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  const claims = tokens.claims();
  const userinfo = await client.fetchUserInfo(config, refreshed.access_token, claims.sub);

  let wrongKey = null;
  try {
    const wrong = await configFor(await importKey(wrongKeyB64));
    await client.clientCredentialsGrant(wrong, { scope: 'profile' });
  } catch (e) {
    // a 401 with WWW-Authenticate surfaces as a challenge error: the OAuth error is in the
    // body, which openid-client leaves unread
    let body = null;
    try {
      body = await e?.response?.json();
    } catch {}
    wrongKey = {
      error: e?.error ?? body?.error ?? null,
      status: e?.status ?? null,
      challenges: e?.cause ?? null,
      message: String(e?.message),
    };
  }

  return {
    client_credentials: {
      access_token: service.access_token,
      scope: service.scope ?? null,
      has_refresh_token: typeof service.refresh_token === 'string',
    },
    sign_in: {
      claims,
      scope: tokens.scope ?? null,
      access_token: tokens.access_token,
      refresh_token: tokens.refresh_token,
    },
    refreshed: {
      access_token: refreshed.access_token,
      refresh_token: refreshed.refresh_token ?? null,
      sub: refreshed.claims()?.sub ?? null,
    },
    userinfo,
    wrong_key: wrongKey,
  };
}

const timer = setTimeout(() => {
  process.stderr.write(`private_key_jwt.mjs: no result within ${TIMEOUT_MS} ms\n`);
  process.exit(1);
}, TIMEOUT_MS);
try {
  const result = await run();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  process.stderr.write(`private_key_jwt.mjs: ${e?.stack || e}\n`);
  if (e?.cause) process.stderr.write(`cause: ${JSON.stringify(e.cause)}\n`);
  process.exit(1);
}
