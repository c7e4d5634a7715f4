#!/usr/bin/env node
// A real upstream OpenID Connect provider for authserver's "Sign in with …" tests: panva's
// oidc-provider (an OpenID-certified provider this project did not write), with its
// development login and consent pages (any account name and password are accepted).
//
//   node tests/browser/upstream_idp.mjs <client_id> <client_secret> <redirect_uri> <claims_file>
//
// Listens on a free loopback port and prints ONE line of JSON: {"issuer": "http://127.0.0.1:PORT"}.
// <claims_file> is a JSON object { "<account>": { "name": ..., "email": ..., ... } }, read
// at every claims request, so a test can change a user's name between two sign-ins; an
// account not in it gets preferred_username = name = <account> and a verified
// <account>@upstream.test email. Exits on SIGTERM or when its standard input closes (the
// test that started it went away).
import http from 'node:http';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';

import * as oidc from 'oidc-provider';

// stdout carries the one JSON line; the test stops reading after it
console.log = (...args) => process.stderr.write(`${args.join(' ')}\n`);
process.stdout.on('error', () => {});

const [clientId, clientSecret, redirectUri, claimsFile] = process.argv.slice(2);
if (!claimsFile) {
  process.stderr.write('usage: upstream_idp.mjs <client_id> <client_secret> <redirect_uri> <claims_file>\n');
  process.exit(64);
}

function claimsOf(account) {
  let all = {};
  try {
    all = JSON.parse(readFileSync(claimsFile, 'utf8'));
  } catch {
    // no file yet: defaults only
  }
  return {
    preferred_username: account,
    name: account,
    email: `${account}@upstream.test`,
    email_verified: true,
    ...(all[account] || {}),
    sub: account,
  };
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new oidc.Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...rsa, kid: 'upstream-rs256', use: 'sig', alg: 'RS256' }] },
    cookies: { keys: ['upstream-test-cookie-key-0123456789'] },
    features: { devInteractions: { enabled: true } },
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username', 'given_name', 'family_name'],
    },
    async findAccount(ctx, id) {
      // the dev login form's account name is the account id (and the `sub`)
      return {
        accountId: id,
        async claims() {
          return claimsOf(id);
        },
      };
    },
  });
  // keep the test output quiet: the dev-interactions warning is expected here
  provider.on('server_error', (ctx, err) => process.stderr.write(`upstream_idp: ${err}\n`));
  server.on('request', provider.callback());
  process.stdout.write(JSON.stringify({ issuer }) + '\n');
});

const stop = () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.stdin.on('end', stop);
process.stdin.resume();
