// How every browser test starts Chromium: Debian's package, headless, and with background
// networking off (this machine's network is closed, and Chromium would otherwise keep
// trying to reach its services).
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(timeout) {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout });
}

// The same Chromium with a profile of its own in `userDataDir` (playwright's persistent
// context); `options` are the context's (`env`, `ignoreHTTPSErrors`, ...).
export function launchChromiumWithProfile(userDataDir, timeout, options) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout,
    ...options,
  });
}
