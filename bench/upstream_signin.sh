#!/usr/bin/env bash
# Sign-in latency through an upstream OpenID Connect provider (panva's oidc-provider), end
# to end in headless Chromium: our /authorize → our login page → "Sign in with …" → the
# provider's login and consent pages → our callback (code exchange, ID token checks,
# userinfo, just-in-time user) → the client's redirect with our code. The browser's start
# is not counted; the provider's two form posts are.
#
#   bash bench/upstream_signin.sh            # ROUNDS=3 by default
#
# Each round is one run of tests/api/browser_upstream.rs (a fresh server and provider):
# "first" is the first sign-in of a new user (discovery was read at server start, in the
# background), "second" the same user again (user updated). Then the cost of what a cold
# start adds, the provider's discovery document and JWKS, is timed with curl.
# Needs chromium, node and `npm ci` in tests/browser (as the browser tests do).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}

cargo test --quiet --test api --no-run 2>/dev/null
for i in $(seq "$ROUNDS"); do
  cargo test --quiet --test api browser_upstream -- --nocapture 2>/dev/null \
    | grep -o 'upstream sign-in through Chromium: .*' || { echo "round $i failed"; exit 1; }
done

# discovery + JWKS of the provider, as a cold start reads them
WORK=$(mktemp -d)
echo '{}' > "$WORK/claims.json"
# the provider stops when its standard input closes: hold it open with a sleeper
mkfifo "$WORK/in"
sleep 3600 >"$WORK/in" &
SLEEPER=$!
node tests/browser/upstream_idp.mjs c s http://127.0.0.1:1/cb "$WORK/claims.json" <"$WORK/in" >"$WORK/out" 2>/dev/null &
PID=$!
trap 'kill $PID $SLEEPER 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 50); do [ -s "$WORK/out" ] && break; sleep 0.1; done
ISSUER=$(sed -n 's/.*"issuer":"\([^"]*\)".*/\1/p' "$WORK/out")
for i in 1 2 3; do
  curl -s -o /dev/null -w "discovery %{time_total}s " "$ISSUER/.well-known/openid-configuration"
  curl -s -o /dev/null -w "jwks %{time_total}s\n" "$ISSUER/jwks"
done
