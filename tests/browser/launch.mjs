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

// Answers every request to the client's redirect URI (`origin`/...) inside the browser
// with `body`, so a sign-in can land there without a server at that address. Not with
// page.route(): Playwright does not call route handlers for the hops of a redirect
// (microsoft/playwright#33882), and the callback is reached through the server's 303; the
// DevTools Fetch domain does pause redirect hops.
//
// Optional callbacks: `onRequest(request)` sees each request before it is answered (the
// DevTools `Network.Request`: `url`, `method`, `postData`, ...); `onError(url, err)` hears
// of one that could not be answered (ignored without it).
export async function answerClientRedirects(context, page, origin, body, { onRequest, onError } = {}) {
  const cdp = await context.newCDPSession(page);
  cdp.on('Fetch.requestPaused', (event) => {
    if (onRequest) onRequest(event.request);
    cdp
      .send('Fetch.fulfillRequest', {
        requestId: event.requestId,
        responseCode: 200,
        responseHeaders: [{ name: 'Content-Type', value: 'text/html; charset=utf-8' }],
        body: Buffer.from(body).toString('base64'),
      })
      .catch((err) => {
        if (onError) onError(event.request.url, err);
      });
  });
  await cdp.send('Fetch.enable', {
    patterns: [{ urlPattern: `${origin}/*`, requestStage: 'Request' }],
  });
}
