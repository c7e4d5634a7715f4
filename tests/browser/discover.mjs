#!/usr/bin/env node
// openid-client's discovery() against each URL given (a /.well-known/ URL is fetched as
// is); prints ONE line of JSON: [{"url", "issuer", "authorization_endpoint",
// "token_endpoint"}, ...]. Exits non-zero with a message on stderr if any is refused.
//
//   node tests/browser/discover.mjs <client_id> <client_secret> <discovery_url>...
import * as client from 'openid-client';

const [clientId, clientSecret, ...urls] = process.argv.slice(2);
if (!clientSecret || urls.length === 0) {
  process.stderr.write('usage: node tests/browser/discover.mjs <client_id> <client_secret> <discovery_url>...\n');
  process.exit(64);
}
try {
  const out = [];
  for (const url of urls) {
    const config = await client.discovery(
      new URL(url),
      clientId,
      undefined,
      client.ClientSecretBasic(clientSecret),
      { execute: [client.allowInsecureRequests], timeout: 10 },
    );
    const m = config.serverMetadata();
    out.push({
      url,
      issuer: m.issuer,
      authorization_endpoint: m.authorization_endpoint,
      token_endpoint: m.token_endpoint,
    });
  }
  process.stdout.write(JSON.stringify(out) + '\n');
} catch (err) {
  process.stderr.write(`discover.mjs: ${err?.stack || err}\n`);
  process.exit(1);
}
