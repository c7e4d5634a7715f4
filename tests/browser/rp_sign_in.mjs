#!/usr/bin/env node
// A user in headless Chromium opens a relying party's protected page, is sent to the
// server's login page, signs in, and lands back on the protected page; then follows the
// relying party's sign-out link. Used with Apache's mod_auth_openidc (mod_auth_openidc.rs).
//
//   node tests/browser/rp_sign_in.mjs <protected_url> <username> <password> <logout_url>
//
// Prints ONE line of JSON: {"login_url", "landed_url", "protected_text", "logout_url",
// "after_logout_url", "after_logout_text", "again_url"}. Exits non-zero with a message on
// stderr on any failure; bounded by RP_TIMEOUT_MS (default 60000).
import { launchChromium } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.RP_TIMEOUT_MS) || 60_000;

const args = process.argv.slice(2);
if (args.length !== 4) {
  process.stderr.write(
    'usage: node tests/browser/rp_sign_in.mjs <protected_url> <username> <password> <logout_url>\n',
  );
  process.exit(64);
}
const [protectedUrl, username, password, logoutUrl] = args;
const protectedPath = new URL(protectedUrl).pathname;

async function run() {
  const browser = await launchChromium(TIMEOUT_MS);
  try {
    const page = await (await browser.newContext()).newPage();
    page.setDefaultTimeout(TIMEOUT_MS);
    await page.goto(protectedUrl, { waitUntil: 'load' });
    const loginUrl = page.url();
    const form = page.locator('form[method="post" i]');
    await form.locator('input[name="username"]').fill(username);
    await form.locator('input[name="password"][type="password"]').fill(password);
    await Promise.all([
      page.waitForURL((u) => u.pathname === protectedPath, { waitUntil: 'load' }),
      form.locator('button[type="submit"]').click(),
    ]);
    const landedUrl = page.url();
    const protectedText = await page.innerText('body');

    await page.goto(logoutUrl, { waitUntil: 'load' });
    const afterLogoutUrl = page.url();
    const afterLogoutText = await page.innerText('body');
    await page.goto(protectedUrl, { waitUntil: 'load' });
    const againUrl = page.url();
    return {
      login_url: loginUrl,
      landed_url: landedUrl,
      protected_text: protectedText,
      logout_url: logoutUrl,
      after_logout_url: afterLogoutUrl,
      after_logout_text: afterLogoutText,
      again_url: againUrl,
    };
  } finally {
    await browser.close();
  }
}

const timer = setTimeout(() => {
  process.stderr.write(`rp_sign_in.mjs: no result within ${TIMEOUT_MS} ms\n`);
  process.exit(1);
}, TIMEOUT_MS);
try {
  const result = await run();
  process.stdout.write(`${JSON.stringify(result)}\n`);
  clearTimeout(timer);
  process.exit(0);
} catch (e) {
  process.stderr.write(`rp_sign_in.mjs: ${e?.stack || e}\n`);
  process.exit(1);
}
