#!/usr/bin/env node
// Dynamic client registration and consent with a real relying party, openid-client, and a
// real user in headless Chromium (Debian's /usr/bin/chromium through playwright-core).
//
//   node tests/browser/dcr_consent.mjs <issuer> <initial_access_token> <username> <password>
//
// openid-client registers itself (dynamicClientRegistration, RFC 7591, with the initial
// access token) and builds the authorization URL (PKCE, state, nonce); the browser signs
// in, sees the consent page and clicks Allow; openid-client exchanges the code it landed
// with (authorizationCodeGrant) and reads userinfo (fetchUserInfo). Prints ONE line of
// JSON to stdout:
//
//   {"client_id": "...", "registration_client_uri": "...", "consent_text": "...",
//    "consent_title": "...", "claims": {...}, "userinfo": {...}, "scope": "..."}
//
// The redirect URI http://localhost:8080/dcr-callback is answered inside the browser
// (nothing listens there). Exits non-zero with a message on stderr on any failure; bounded
// by DCR_TIMEOUT_MS (default 60000).
import * as oidc from 'openid-client';
import { launchChromium, answerClientRedirects } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.DCR_TIMEOUT_MS) || 60_000;
const CALLBACK = 'http://localhost:8080/dcr-callback';
const CALLBACK_BODY = '<!doctype html><title>callback</title>';
const SCOPE = 'openid profile email';

const args = process.argv.slice(2);
if (args.length !== 4) {
  process.stderr.write(
    'usage: node tests/browser/dcr_consent.mjs <issuer> <initial_access_token> <username> <password>\n',
  );
  process.exit(64);
}
const [issuer, initialAccessToken, username, password] = args;

async function allowInBrowser(authorizationUrl) {
  const browser = await launchChromium(TIMEOUT_MS);
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    // answer the relying party's callback inside the browser
    await answerClientRedirects(context, page, new URL(CALLBACK).origin, CALLBACK_BODY);
    await page.goto(authorizationUrl);
    await page.fill('#username', username);
    await page.fill('#password', password);
    await page.click('button[type=submit]');
    await page.waitForSelector('button[value=allow]');
    const consentTitle = await page.innerText('h1');
    const consentText = await page.innerText('main');
    await Promise.all([page.waitForURL(`${CALLBACK}?*`), page.click('button[value=allow]')]);
    return { consentTitle, consentText, callback: page.url() };
  } finally {
    await browser.close();
  }
}

async function run() {
  const config = await oidc.dynamicClientRegistration(
    new URL(issuer),
    {
      client_name: 'Node Relying Party',
      redirect_uris: [CALLBACK],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_post',
      scope: SCOPE,
    },
    undefined,
    { execute: [oidc.allowInsecureRequests], initialAccessToken },
  );
  const metadata = config.clientMetadata();
  const verifier = oidc.randomPKCECodeVerifier();
  const state = oidc.randomState();
  const nonce = oidc.randomNonce();
  const url = oidc.buildAuthorizationUrl(config, {
    redirect_uri: CALLBACK,
    scope: SCOPE,
    code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  const seen = await allowInBrowser(url.href);
  const tokens = await oidc.authorizationCodeGrant(config, new URL(seen.callback), {
    pkceCodeVerifier: verifier,
    expectedState: state,
    expectedNonce: nonce,
  });
  const claims = tokens.claims();
  const userinfo = await oidc.fetchUserInfo(config, tokens.access_token, claims.sub);
  return {
    client_id: metadata.client_id,
    registration_client_uri: metadata.registration_client_uri,
    consent_title: seen.consentTitle,
    consent_text: seen.consentText,
    claims,
    userinfo,
    scope: tokens.scope,
  };
}

const timer = setTimeout(() => {
  process.stderr.write(`dcr_consent.mjs: no result within ${TIMEOUT_MS} ms\n`);
  process.exit(1);
}, TIMEOUT_MS + 5_000);
run()
  .then((result) => {
    clearTimeout(timer);
    process.stdout.write(`${JSON.stringify(result)}\n`);
    process.exit(0);
  })
  .catch((e) => {
    clearTimeout(timer);
    process.stderr.write(`dcr_consent.mjs: ${e?.stack || e}\n`);
    if (e?.cause) process.stderr.write(`cause: ${JSON.stringify(e.cause)}\n`);
    process.exit(1);
  });
