#!/usr/bin/env node
// Drives authserver's account page in a real headless Chromium (Debian's /usr/bin/chromium,
// through playwright-core).
//
//   node tests/browser/account.mjs <account_url> <username> <password> [--revoke=ID]
//
// Opens <account_url> (/authentication/account), signs in with its own form, and then
//   - without --revoke: creates a personal access token ("browser token", 30 days, scope
//     data, confirmed with the password again), reads it from the result page, opens the
//     account page again and prints ONE line of JSON to stdout:
//       {"token": "<asp_…>", "id": "<PAT id>", "listed": <the page lists the id>,
//        "shown_again": <the token appears on the account page afterwards>}
//   - with --revoke=ID: clicks the Revoke button of that token and prints
//       {"revoked": "<ID>", "listed": <the page still lists the id>}
// Exits non-zero with a message on stderr on any failure; the whole run is bounded by
// ACCOUNT_TIMEOUT_MS (default 30000).
import { launchChromium } from './launch.mjs';

const TIMEOUT_MS = Number(process.env.ACCOUNT_TIMEOUT_MS) || 30_000;

function usage(message) {
  process.stderr.write(
    `account.mjs: ${message}\n` +
      'usage: node tests/browser/account.mjs <account_url> <username> <password> [--revoke=ID]\n',
  );
  process.exit(64);
}

function parseArgs(argv) {
  const positional = [];
  let revoke = null;
  for (const arg of argv) {
    if (arg.startsWith('--revoke=')) {
      revoke = arg.slice('--revoke='.length);
      if (!revoke) usage('--revoke needs an id');
    } else if (arg.startsWith('--')) {
      usage(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 3) usage('expected exactly 3 positional arguments');
  const [accountUrl, username, password] = positional;
  try {
    new URL(accountUrl);
  } catch {
    usage(`not a URL: ${accountUrl}`);
  }
  return { accountUrl, username, password, revoke };
}

const deadline = Date.now() + TIMEOUT_MS;
const remaining = () => Math.max(500, deadline - Date.now());

// Clicks `button` and waits for the document the form submission lands on.
async function submitAndLoad(page, button) {
  const [response] = await Promise.all([
    page.waitForNavigation({ waitUntil: 'load', timeout: remaining() }),
    button.click({ timeout: remaining() }),
  ]);
  return response;
}

async function run({ accountUrl, username, password, revoke }) {
  const browser = await launchChromium(remaining());
  try {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(remaining());
    page.setDefaultNavigationTimeout(remaining());
    const complaints = [];
    page.on('console', (m) => {
      if (m.type() === 'error') complaints.push(`console: ${m.text()}`);
    });
    page.on('pageerror', (e) => complaints.push(`page error: ${e.message}`));
    const fail = (message) =>
      new Error(message + `\n  page at ${page.url()}` + complaints.map((c) => `\n  ${c}`).join(''));

    // 1. Without a session the account page is a sign-in form.
    const first = await page.goto(accountUrl, { waitUntil: 'load', timeout: remaining() });
    if (!first || first.status() !== 200) throw fail(`GET ${accountUrl} answered ${first?.status()}`);
    const signIn = page.locator('form[action$="/account/login"]');
    if ((await signIn.count()) !== 1) throw fail('no sign-in form on the account page');
    await signIn.locator('input[name="username"]').fill(username);
    await signIn.locator('input[name="password"][type="password"]').fill(password);
    const afterSignIn = await submitAndLoad(page, signIn.locator('button[type="submit"]'));
    if (!afterSignIn || afterSignIn.status() !== 200) {
      throw fail(`signing in ended with status ${afterSignIn?.status()}`);
    }
    if (!(await page.content()).includes('Signed in as')) throw fail('not signed in');

    if (revoke) {
      // 2b. Revoke the named token with its row's button.
      const row = page.locator(`tr[data-pat-id="${revoke}"]`);
      if ((await row.count()) !== 1) throw fail(`no row for token ${revoke}`);
      const afterRevoke = await submitAndLoad(page, row.locator('button[type="submit"]'));
      if (!afterRevoke || afterRevoke.status() !== 200) {
        throw fail(`revoking ended with status ${afterRevoke?.status()}`);
      }
      const listed = (await page.locator(`tr[data-pat-id="${revoke}"]`).count()) > 0;
      return { revoked: revoke, listed };
    }

    // 2. Create a token.
    const create = page.locator('form#create-pat');
    await create.locator('input[name="description"]').fill('browser token');
    await create.locator('select[name="expires_in_days"]').selectOption('30');
    await create.locator('select[name="scope"]').selectOption('data');
    // "sudo mode": the session alone does not create a token
    await create.locator('input[name="current_password"][type="password"]').fill(password);
    const created = await submitAndLoad(page, create.locator('button[type="submit"]'));
    if (!created || created.status() !== 200) throw fail(`creating ended with status ${created?.status()}`);
    const shown = page.locator('#new-token');
    if ((await shown.count()) !== 1) throw fail('the new token is not on the page');
    const token = ((await shown.textContent()) ?? '').trim();
    const id = await shown.getAttribute('data-pat-id');

    // 3. Back on the account page: listed, but the token itself is gone for good.
    await page.goto(accountUrl, { waitUntil: 'load', timeout: remaining() });
    const listed = (await page.locator(`tr[data-pat-id="${id}"]`).count()) === 1;
    const shownAgain = (await page.content()).includes(token);
    return { token, id, listed, shown_again: shownAgain };
  } finally {
    await browser.close().catch(() => {});
  }
}

const args = parseArgs(process.argv.slice(2));
const watchdog = setTimeout(() => {
  process.stderr.write(`account.mjs: timed out after ${TIMEOUT_MS} ms\n`);
  process.exit(3);
}, TIMEOUT_MS + 5_000);
try {
  const result = await run(args);
  process.stdout.write(JSON.stringify(result) + '\n');
  clearTimeout(watchdog);
  process.exit(0);
} catch (err) {
  process.stderr.write(`account.mjs: ${err && err.message ? err.message : err}\n`);
  process.exit(1);
}
