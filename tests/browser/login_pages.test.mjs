// The authorization server's own pages in a real browser: Debian's chromium driven by npm
// playwright-core against `tessera demo`. Sign-in (OpenID Core §3.1.2.3), the second factor
// (RFC 6238 TOTP, RFC 8176 amr), consent (OpenID Core §3.1.2.4), the authorization response
// (RFC 6749 §4.1.2, RFC 9207 iss), RP-initiated logout (OpenID RP-Initiated Logout §2-3) and the
// forms' CSRF defences, and the device verification page (RFC 8628 §3.3). Every page is also
// checked for Content Security Policy violations, script errors and requests leaving the
// server's origin. Screenshots go to TESSERA_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  finish, heading, lastDocument, launchChromium, openPage, sessionCookie, shot, signInWithPassword,
  submit,
} from '../lib/browser.mjs';
import { BIN, freePort, ok, startTessera, waitFor } from '../lib/tessera.mjs';
import { totp } from '../lib/login.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

let demo;
let ready;
let issuer;
let dataDir;
let chromium;
let browser;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-browser-data-'));
  const port = await freePort();
  demo = startTessera(['demo', '--port', String(port), '--data-dir', dataDir]);
  const out = await waitFor(() => demo.out().includes('\n') && demo.out(), 'readiness line');
  ready = JSON.parse(out.trim());
  issuer = ready.issuer;
  chromium = await launchChromium('tessera-browser-profile-');
  browser = chromium.browser;
});

after(async () => {
  await chromium?.close();
  demo?.child.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

// An authorization request as the spa client makes it: code flow with PKCE S256 (RFC 7636 §4).
// Consent is remembered per user and client (OpenID Core §3.1.2.4), so only a user's first
// sign-in shows it unasked; later tests that need the consent page send prompt=consent.
function authorizeRequest({ prompt } = {}) {
  const spa = ready.clients.spa;
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const url = new URL(issuer + '/authorize');
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', spa.client_id);
  url.searchParams.set('redirect_uri', spa.redirect_uris[0]);
  url.searchParams.set('scope', 'openid profile email');
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', nonce);
  url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
  url.searchParams.set('code_challenge_method', 'S256');
  if (prompt) url.searchParams.set('prompt', prompt);
  return { url: url.href, verifier, state, nonce };
}

// What every test ends with (tests/lib/browser.mjs): no CSP violation or script error, no
// request to another origin than the server's and `otherOrigins`. Console errors are not
// checked: some tests ask for error pages on purpose.
function checks(otherOrigins = []) {
  return { origins: [issuer, ...otherOrigins], consoleErrors: false };
}

function lastStatus(s) {
  return lastDocument(s).status();
}

// The JSON the demo's callback page answers with: the query the client received.
async function callbackParams(page) {
  assert.equal(new URL(page.url()).origin + new URL(page.url()).pathname,
    ready.clients.spa.redirect_uris[0], `not at the callback: ${page.url()}`);
  const body = JSON.parse(await page.locator('body').innerText());
  assert.equal(body.page, 'callback');
  return body.params;
}

async function assertLoginPage(page) {
  assert.equal(await page.title(), 'Sign in');
  assert.equal(await heading(page), 'Sign in');
  const username = page.getByLabel('Username', { exact: true });
  const password = page.getByLabel('Password', { exact: true });
  assert.equal(await username.count(), 1);
  assert.equal(await password.count(), 1);
  assert.equal(await username.getAttribute('autocomplete'), 'username');
  assert.equal(await password.getAttribute('type'), 'password');
  assert.equal(await password.getAttribute('autocomplete'), 'current-password');
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 1);
}

async function assertConsentPage(page, username) {
  assert.equal(await page.title(), 'Allow access?');
  assert.equal(await heading(page), 'Allow access?');
  const items = (await page.getByRole('listitem').allInnerTexts()).map((t) => t.trim());
  // OpenID Core §5.4: the requested scopes, in words.
  assert.deepEqual(items, ['Sign you in with your account',
    'See your basic profile: name, username and picture', 'See your email address']);
  assert.match(await page.locator('main').innerText(), new RegExp(`Signed in as ${username}`));
  assert.equal(await page.getByRole('button', { name: 'Allow' }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Deny' }).count(), 1);
}

function decodeJwt(jwt) {
  const [header, payload] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
  };
}

test('alice: login page, wrong password, consent, code, then tokens at /token', async () => {
  const s = await openPage(browser);
  const { page } = s;
  const req = authorizeRequest();
  await page.goto(req.url);
  assert.equal(lastStatus(s), 200);
  await assertLoginPage(page);
  assert.match(await page.locator('main').innerText(), /to continue to spa/);
  await shot(page, 'login');

  const alice = ready.users.alice;
  await signInWithPassword(page, { username: alice.username, password: 'not-' + alice.password });
  assert.equal(lastStatus(s), 401);
  await assertLoginPage(page);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal((await page.getByRole('alert').innerText()).trim(),
    'Incorrect username or password.');
  assert.equal(await page.getByLabel('Password', { exact: true }).getAttribute('aria-invalid'),
    'true');
  assert.equal(await sessionCookie(s.context, issuer), undefined,
    'a wrong password made a session');
  await shot(page, 'login-error');

  await signInWithPassword(page, ready.users.alice);
  assert.equal(lastStatus(s), 200);
  await assertConsentPage(page, 'alice');
  await shot(page, 'consent');

  await submit(page, page.getByRole('button', { name: 'Allow' }));
  const params = await callbackParams(page);
  assert.equal(params.state, req.state);
  assert.equal(params.iss, issuer);  // RFC 9207 §2
  assert.equal(typeof params.code, 'string');
  assert.ok(params.code.length >= 32);
  assert.equal(params.error, undefined);

  // RFC 6749 §4.1.3 with the RFC 7636 §4.5 verifier.
  const spa = ready.clients.spa;
  const response = await fetch(issuer + '/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: params.code, redirect_uri: spa.redirect_uris[0],
      client_id: spa.client_id, code_verifier: req.verifier,
    }),
  });
  const tokens = await response.json();
  assert.equal(response.status, 200, JSON.stringify(tokens));
  assert.equal(typeof tokens.access_token, 'string');
  assert.equal(typeof tokens.id_token, 'string');
  const id = decodeJwt(tokens.id_token).payload;
  assert.equal(id.iss, issuer);
  assert.deepEqual([id.aud].flat(), [spa.client_id]);
  assert.equal(id.nonce, req.nonce);
  assert.deepEqual(id.amr, ['pwd']);
  await finish(s, checks());
});

test('bob: password, then the TOTP page; a wrong code is refused, the right one signs in',
  async () => {
    const s = await openPage(browser);
    const { page } = s;
    const req = authorizeRequest();
    await page.goto(req.url);
    await assertLoginPage(page);
    await signInWithPassword(page, ready.users.bob);
    assert.equal(lastStatus(s), 200);
    assert.equal(await page.title(), 'Two-step verification');
    assert.equal(await heading(page), 'Two-step verification');
    // A password alone never makes a session for a user with a second factor.
    assert.equal(await sessionCookie(s.context, issuer), undefined);
    const code = page.getByLabel(/code from your authenticator app/);
    assert.equal(await code.count(), 1);
    assert.equal(await code.getAttribute('autocomplete'), 'one-time-code');
    assert.equal(await code.getAttribute('inputmode'), 'numeric');
    assert.equal(await code.evaluate((e) => e === document.activeElement), true, 'not focused');
    await shot(page, 'totp');

    // A code that is valid in no step near now (RFC 6238 §5.2 allows some drift).
    const secret = ready.users.bob.totp_secret;
    const now = Date.now() / 1000;
    const near = new Set([-60, -30, 0, 30, 60].map((d) => totp(secret, now + d)));
    let wrong = 0;
    while (near.has(String(wrong).padStart(6, '0'))) wrong++;
    await code.fill(String(wrong).padStart(6, '0'));
    await submit(page, page.getByRole('button', { name: 'Verify' }));
    assert.equal(lastStatus(s), 401);
    assert.equal(await page.title(), 'Two-step verification');
    assert.match(await page.getByRole('alert').innerText(), /That code is not valid/);
    assert.equal(await sessionCookie(s.context, issuer), undefined);
    await shot(page, 'totp-error');

    await page.getByLabel(/code from your authenticator app/).fill(totp(secret));
    await submit(page, page.getByRole('button', { name: 'Verify' }));
    assert.equal(lastStatus(s), 200);
    await assertConsentPage(page, 'bob');
    await submit(page, page.getByRole('button', { name: 'Allow' }));
    const params = await callbackParams(page);
    assert.equal(params.state, req.state);
    assert.equal(params.iss, issuer);
    assert.equal(typeof params.code, 'string');
    assert.ok(await sessionCookie(s.context, issuer), 'no session after the second factor');
    await finish(s, checks());
  });

test('consent denied: the client gets error=access_denied, no code', async () => {
  const s = await openPage(browser);
  const { page } = s;
  const req = authorizeRequest({ prompt: 'consent' });
  await page.goto(req.url);
  await signInWithPassword(page, ready.users.alice);
  await assertConsentPage(page, 'alice');
  await submit(page, page.getByRole('button', { name: 'Deny' }));
  const params = await callbackParams(page);
  // RFC 6749 §4.1.2.1.
  assert.equal(params.error, 'access_denied');
  assert.equal(params.state, req.state);
  assert.equal(params.iss, issuer);
  assert.equal(params.code, undefined);
  await finish(s, checks());
});

test('session cookie: HttpOnly, SameSite=Lax, not Secure on plain http', async () => {
  const s = await openPage(browser);
  const { page, context } = s;
  await page.goto(authorizeRequest({ prompt: 'consent' }).url);
  const browserCookie = (await context.cookies(issuer)).find((c) => c.name === 'tessera_browser');
  assert.ok(browserCookie, 'no browser cookie with the login page');
  assert.equal(await sessionCookie(context, issuer), undefined, 'a session before signing in');
  await signInWithPassword(page, ready.users.alice);
  await assertConsentPage(page, 'alice');
  const session = await sessionCookie(context, issuer);
  assert.ok(session, 'no tessera_session cookie after login');
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Lax');
  assert.equal(session.secure, false);
  assert.equal(session.path, '/');
  assert.equal(session.expires, -1, 'a session cookie, not a persistent one');
  assert.ok(session.value.length >= 43);
  // Page script cannot read it (HttpOnly).
  assert.doesNotMatch(await page.evaluate(() => document.cookie), /tessera_session/);
  assert.equal(browserCookie.httpOnly, true);
  assert.equal(browserCookie.sameSite, 'Lax');
  await finish(s, checks());
});

test('phone viewport: login, second factor and consent fit without horizontal scrolling',
  async () => {
    const s = await openPage(browser, {
      viewport: { width: 390, height: 844 }, deviceScaleFactor: 3, isMobile: true, hasTouch: true,
    });
    const { page } = s;
    const fits = async (what) => {
      const m = await page.evaluate(() => ({
        scroll: document.documentElement.scrollWidth, inner: window.innerWidth,
        widest: Math.max(...[...document.querySelectorAll('main, input, button')]
          .map((e) => e.getBoundingClientRect().right)),
      }));
      assert.ok(m.scroll <= m.inner, `${what}: scrollWidth ${m.scroll} > innerWidth ${m.inner}`);
      assert.ok(m.widest <= m.inner, `${what}: an element ends at ${m.widest} > ${m.inner}`);
    };
    await page.goto(authorizeRequest().url);
    await assertLoginPage(page);
    assert.equal(await page.evaluate(() => window.innerWidth), 390);
    await fits('login');
    await shot(page, 'login-phone');
    await signInWithPassword(page, ready.users.bob);
    assert.equal(await page.title(), 'Two-step verification');
    await fits('totp');
    await shot(page, 'totp-phone');
    // Not bob's code again: the test above may have used this very one (RFC 6238 §5.2: a
    // verifier accepts an OTP once).
    await page.goto(authorizeRequest({ prompt: 'consent' }).url);
    await signInWithPassword(page, ready.users.alice);
    await assertConsentPage(page, 'alice');
    await fits('consent');
    await shot(page, 'consent-phone');
    await finish(s, checks());
  });

test('logout: end_session asks, signs out, and prompt=none then needs a login', async () => {
  const s = await openPage(browser);
  const { page, context } = s;
  await page.goto(authorizeRequest({ prompt: 'consent' }).url);
  await signInWithPassword(page, ready.users.alice);
  await submit(page, page.getByRole('button', { name: 'Allow' }));
  assert.equal(typeof (await callbackParams(page)).code, 'string');

  // Signed in with consent given: prompt=none answers with a code (OpenID Core §3.1.2.1).
  const silent = authorizeRequest({ prompt: 'none' });
  await page.goto(silent.url);
  const before = await callbackParams(page);
  assert.equal(before.error, undefined, JSON.stringify(before));
  assert.equal(typeof before.code, 'string');
  assert.equal(before.state, silent.state);

  // RP-Initiated Logout §2: no id_token_hint, so the user is asked first.
  await page.goto(issuer + '/end_session');
  assert.equal(lastStatus(s), 200);
  assert.equal(await page.title(), 'Sign out?');
  assert.equal(await heading(page), 'Sign out?');
  assert.equal(await page.getByRole('button', { name: 'Stay signed in' }).count(), 1);
  assert.ok(await sessionCookie(context, issuer), 'the confirmation page alone signed out');
  await shot(page, 'logout-confirm');
  await submit(page, page.getByRole('button', { name: 'Sign out', exact: true }));
  assert.equal(lastStatus(s), 200);
  assert.equal(await page.title(), 'Signed out');
  assert.equal(await heading(page), 'You are signed out');
  assert.equal(await sessionCookie(context, issuer), undefined, 'session cookie still there');
  await shot(page, 'signed-out');

  // OpenID Core §3.1.2.6: no session any more.
  const after = authorizeRequest({ prompt: 'none' });
  await page.goto(after.url);
  const params = await callbackParams(page);
  assert.equal(params.error, 'login_required');
  assert.equal(params.state, after.state);
  assert.equal(params.iss, issuer);
  assert.equal(params.code, undefined);
  await finish(s, checks());
});

test('CSRF: cross-origin and token-less or tampered login posts get a 403 page', async () => {
  const s = await openPage(browser);
  const { page, context } = s;
  await page.goto(authorizeRequest().url);
  await assertLoginPage(page);
  const fields = await page.evaluate(() => Object.fromEntries(
    [...document.querySelectorAll('form input[type=hidden]')].map((e) => [e.name, e.value])));
  assert.ok(fields.csrf && fields.interaction, JSON.stringify(fields));

  // 1. Another origin (same site: cookies go along) posts a complete, valid form: refused on its
  // Origin before the credentials are looked at.
  const evil = http.createServer((request, response) => {
    const inputs = Object.entries({ ...fields, ...ready.users.alice })
      .map(([k, v]) => `<input type="hidden" name="${k}" value="${v}">`).join('');
    response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    response.end(`<!DOCTYPE html><title>Win a prize</title><form method="post" ` +
      `action="${issuer}/login">${inputs}<button type="submit">Claim</button></form>`);
  });
  const evilPort = await freePort();
  await new Promise((resolve) => evil.listen(evilPort, '127.0.0.1', resolve));
  const evilOrigin = `http://127.0.0.1:${evilPort}`;
  try {
    await page.goto(evilOrigin + '/');
    await submit(page, page.getByRole('button', { name: 'Claim' }));
    assert.equal(new URL(page.url()).href, issuer + '/login');
    assert.equal(lastStatus(s), 403);
    assert.equal(await heading(page), 'Request refused');
    assert.equal(await sessionCookie(context, issuer), undefined, 'cross-origin post signed in');
    await shot(page, 'csrf-cross-origin');
  } finally {
    await new Promise((resolve) => evil.close(resolve));
  }

  // 2. Same origin, the login form without its csrf field: the Origin is right, the token is
  // missing. (A script fetch is no way to send it: the pages' CSP, default-src 'none', refuses
  // connect-src, which is as it should be.)
  await page.goto(authorizeRequest().url);
  await page.evaluate(() => document.querySelector('input[name=csrf]').remove());
  await signInWithPassword(page, ready.users.alice);
  assert.equal(lastStatus(s), 403);
  assert.equal(await heading(page), 'This page has expired');
  assert.equal(await sessionCookie(context, issuer), undefined, 'a post without csrf signed in');

  // 3. The login form with a tampered csrf token, submitted by the user.
  await page.goto(authorizeRequest().url);
  await page.evaluate(() => {
    const csrf = document.querySelector('input[name=csrf]');
    csrf.value = (csrf.value[0] === 'A' ? 'B' : 'A') + csrf.value.slice(1);
  });
  await signInWithPassword(page, ready.users.alice);
  assert.equal(lastStatus(s), 403);
  assert.equal(await heading(page), 'This page has expired');
  assert.equal(await sessionCookie(context, issuer), undefined, 'a tampered csrf signed in');

  // The same form untouched still works: the refusals above were about the token.
  await page.goto(authorizeRequest({ prompt: 'consent' }).url);
  await signInWithPassword(page, ready.users.alice);
  await assertConsentPage(page, 'alice');
  await finish(s, checks([evilOrigin]));
});

// RFC 8628 §3.3: the device verification page in a real browser, from verification_uri_complete
// to "Device connected", through sign-in and the consent page (asked for every device), with the
// same CSP and origin checks as the other pages; then the device's poll gets its tokens.
test('a device: the code page prefilled, sign-in, consent, connected; the poll gets tokens', async () => {
  ok(['client', 'create', '--id', 'browser-tv', '--type', 'public', '--grant-type',
    'urn:ietf:params:oauth:grant-type:device_code', '--scope', 'openid profile email',
    '--skip-consent', '--data-dir', dataDir]);
  const started = await fetch(issuer + '/device_authorization', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ client_id: 'browser-tv', scope: 'openid profile email' }),
  });
  assert.equal(started.status, 200);
  const device = await started.json();

  const s = await openPage(browser);
  const { page } = s;
  await page.goto(device.verification_uri_complete);
  assert.equal(lastStatus(s), 200);
  assert.equal(await heading(page), 'Connect a device');
  const code = page.getByLabel('Code', { exact: true });
  assert.equal(await code.inputValue(), device.user_code);
  await shot(page, 'device-code');
  await submit(page, page.getByRole('button', { name: 'Continue' }));
  await assertLoginPage(page);
  await signInWithPassword(page, ready.users.alice);
  await assertConsentPage(page, 'alice');
  await shot(page, 'device-consent');
  await submit(page, page.getByRole('button', { name: 'Allow' }));
  assert.equal(lastStatus(s), 200);
  assert.equal(await heading(page), 'Device connected');
  await shot(page, 'device-connected');

  const polled = await fetch(issuer + '/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:device_code',
      device_code: device.device_code, client_id: 'browser-tv',
    }),
  });
  assert.equal(polled.status, 200, await polled.clone().text());
  const tokens = await polled.json();
  assert.equal(decodeJwt(tokens.id_token).payload.aud, 'browser-tv');
  await finish(s, checks());
});
