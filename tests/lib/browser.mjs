// Debian's chromium driven by npm playwright-core, as every browser test launches it: exactly
// the project's flags (Playwright's own switches left out), a fresh profile per run, and the
// folder screenshots go to (the CMake registration names one in the build tree; run by hand,
// next to the binary).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { BIN } from './tessera.mjs';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];
export const SHOTS = process.env.TESSERA_SCREENSHOTS || join(dirname(BIN), 'screenshots');

// The browser, and close() that also removes its profile. Never skipped: a machine without the
// browser fails here (scripts/bootstrap.sh installs it).
export async function launchChromium(prefix) {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run scripts/bootstrap.sh`);
  mkdirSync(SHOTS, { recursive: true });
  const profileDir = mkdtempSync(join(tmpdir(), prefix));
  // The pipe and no-startup-window are how Playwright talks to the browser.
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: true,
    args: [...FLAGS, `--user-data-dir=${profileDir}`, '--remote-debugging-pipe',
      '--no-startup-window'],
    timeout: 60000,
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profileDir, { recursive: true, force: true });
    },
  };
}

// A browser context of `browser` (its own cookie jar and storage; `contextOptions` as
// browser.newContext takes them) and a page in it that records every request (Playwright's
// Request objects), the top-level document responses, the documents loaded in child frames,
// console errors, and anything that looks like a CSP violation or a script error.
export async function openPage(browser, contextOptions = {}) {
  const context = await browser.newContext(contextOptions);
  const page = await context.newPage();
  const s = {
    context, page, requests: [], documents: [], frames: [], problems: [], consoleErrors: [],
  };
  page.on('request', (r) => s.requests.push(r));
  page.on('response', (r) => {
    if (r.request().isNavigationRequest() && r.frame() === page.mainFrame()) s.documents.push(r);
  });
  page.on('framenavigated', (f) => {
    if (f !== page.mainFrame()) s.frames.push({ url: f.url(), parent: f.parentFrame()?.url() });
  });
  page.on('console', (m) => {
    if (/content security policy|refused to/i.test(m.text())) {
      s.problems.push(`console ${m.type()} on ${page.url()}: ${m.text()}`);
    } else if (m.type() === 'error') {
      s.consoleErrors.push({ text: m.text(), url: m.location().url });
    }
  });
  page.on('pageerror', (e) => s.problems.push(`pageerror on ${page.url()}: ${e.message}`));
  // CSP3 §5.3: the securitypolicyviolation event, reported even when nothing is logged.
  await page.exposeFunction('__tesseraCspViolation', (v) => {
    s.problems.push(`CSP violation: ${v}`);
  });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__tesseraCspViolation(
        `${e.effectiveDirective} blocked ${e.blockedURI || 'inline'} on ${e.documentURI}`);
    });
  });
  return s;
}

// What every browser test ends an openPage() with; the context is closed whatever happens. No
// CSP violation or script error; no request to an origin other than those of `origins` (URLs:
// the pages must not load fonts, scripts or icons from elsewhere); and unless `consoleErrors` is
// false, no console error but the browser's own note of the answers the test asked for on
// purpose (`expectedFailures`: URL -> status).
export async function finish(s, { origins, expectedFailures = {}, consoleErrors = true }) {
  try {
    assert.deepEqual(s.problems, [], 'CSP violations or script errors');
    if (consoleErrors) {
      const unexpected = s.consoleErrors.filter(({ text, url }) => {
        const status = expectedFailures[url];
        return !(status && text.includes(`the server responded with a status of ${status}`));
      });
      assert.deepEqual(unexpected, [], 'console errors');
    }
    const allowed = new Set(origins.map((o) => new URL(o).origin));
    const foreign = s.requests.map((r) => r.url()).filter((u) => !allowed.has(new URL(u).origin));
    assert.deepEqual(foreign, [], 'requests to other origins');
  } finally {
    await s.context.close();
  }
}

// The last top-level document an openPage() loaded (after any redirects).
export function lastDocument(s) {
  assert.ok(s.documents.length > 0, 'no document was loaded');
  return s.documents[s.documents.length - 1];
}

// Clicks a submit button (or a link) and waits for the page it leads to (after any redirects).
export async function submit(page, button) {
  await Promise.all([page.waitForEvent('load'), button.click()]);
}

// A full-page screenshot named `name` in SHOTS.
export async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

// The page's one level-1 heading.
export async function heading(page) {
  return (await page.getByRole('heading', { level: 1 }).textContent()).trim();
}

// Fills in the server's login page as `user` (username, password) and submits it.
export async function signInWithPassword(page, user) {
  await page.getByLabel('Username', { exact: true }).fill(user.username);
  await page.getByLabel('Password', { exact: true }).fill(user.password);
  await submit(page, page.getByRole('button', { name: 'Sign in' }));
}

// The context's session cookie at `issuer`, or undefined.
export async function sessionCookie(context, issuer) {
  return (await context.cookies(issuer)).find((c) => c.name === 'tessera_session');
}
