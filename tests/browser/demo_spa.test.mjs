// The demo's single-page app (src/app/demo_spa.cpp) in a real browser: Debian's chromium driven
// by npm playwright-core against `tessera demo`. The page signs the user in as the public client
// `spa` with the code flow and PKCE (RFC 6749 §4.1, RFC 7636 §4), checks state (RFC 6749
// §10.12) and iss (RFC 9207 §2.4), redeems the code itself, keeps the token in memory and calls
// the invoices API and the RFC 8693 chain through the gateway, a cross-origin call (CORS).
// Every page is checked for Content Security Policy violations, script errors, console errors
// and requests to origins other than the server's and the gateway's. Screenshots go to
// TESSERA_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  finish, lastDocument, launchChromium, openPage, shot, signInWithPassword, submit,
} from '../lib/browser.mjs';
import { BIN, freePort, startTessera, waitFor } from '../lib/tessera.mjs';
import { totp } from '../lib/login.mjs';
import { codeFlow } from '../lib/demo.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const PENDING_KEY = 'tessera-demo-authorization';  // the page's sessionStorage entry

let demo;
let ready;
let issuer;
let gateway;
let metadata;
let dataDir;
let chromium;
let browser;

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'tessera-spa-data-'));
  const port = await freePort();
  demo = startTessera(['demo', '--port', String(port), '--data-dir', dataDir]);
  const out = await waitFor(() => demo.out().includes('\n') && demo.out(), 'readiness line');
  ready = JSON.parse(out.trim());
  issuer = ready.issuer;
  gateway = ready.gateway;
  metadata = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
  chromium = await launchChromium('tessera-spa-profile-');
  browser = chromium.browser;
});

after(async () => {
  await chromium?.close();
  demo?.child.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

function subjectOf(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url')).sub;
}

// Opens the app signed out and checks what it is served with.
async function openApp(s) {
  const { page } = s;
  await page.goto(`${issuer}/demo/app`);
  const doc = lastDocument(s);
  assert.equal(doc.status(), 200);
  const headers = doc.headers();
  assert.equal(headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(headers['cache-control'], 'no-store');
  const csp = headers['content-security-policy'];
  for (const directive of ["default-src 'none'", "script-src 'self'",
    `connect-src 'self' ${new URL(gateway).origin}`, "base-uri 'none'", "form-action 'self'",
    "frame-ancestors 'none'"]) {
    assert.ok(csp.split(/;\s*/).includes(directive), `CSP lacks ${directive}: ${csp}`);
  }
  assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/]+=*'/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.equal(await page.title(), 'Tessera demo: invoices');
  assert.equal(await page.locator('body').getAttribute('data-gateway'), gateway);
  assert.equal(await page.locator('script:not([src])').count(), 0, 'an inline script');
  await page.waitForSelector('body[data-state=signed-out]');
  assert.equal(await page.getByRole('button', { name: 'Sign in' }).count(), 1);
}

// Clicks Sign in; checks the authorization request the page made (RFC 6749 §4.1.1, RFC 7636
// §4.3) against what it kept in sessionStorage for the way back.
async function startSignIn(s) {
  const { page } = s;
  await submit(page, page.locator('#sign-in'));
  const authorize = s.requests.map((r) => new URL(r.url()))
    .filter((u) => u.origin + u.pathname === metadata.authorization_endpoint).at(-1);
  assert.ok(authorize, 'no request to the authorization endpoint');
  const q = Object.fromEntries(authorize.searchParams);
  const pending = JSON.parse(await page.evaluate((k) => sessionStorage.getItem(k), PENDING_KEY));
  assert.ok(pending, 'nothing kept in sessionStorage for the way back');
  assert.equal(q.response_type, 'code');
  assert.equal(q.client_id, 'spa');
  assert.equal(q.redirect_uri, `${issuer}/demo/app`);
  assert.ok(ready.clients.spa.redirect_uris.includes(q.redirect_uri));
  assert.equal(q.scope, 'openid invoices:read invoices:write');
  assert.equal(q.code_challenge_method, 'S256');
  assert.match(pending.verifier, /^[A-Za-z0-9_-]{43,128}$/);  // RFC 7636 §4.1
  assert.equal(q.code_challenge, createHash('sha256').update(pending.verifier).digest('base64url'));
  assert.equal(q.state, pending.state);
  assert.equal(q.nonce, pending.nonce);
  assert.ok(q.state.length >= 22 && q.nonce.length >= 22, 'state or nonce too short');
  assert.equal(await page.title(), 'Sign in');
  return pending;
}

async function allow(page) {
  assert.equal(await page.title(), 'Allow access?');
  await submit(page, page.getByRole('button', { name: 'Allow' }));
}

// Waits for the page to finish its calls; any error it shows fails the test with its message.
async function waitUntilDone(page) {
  await page.waitForSelector('body[data-state=done], body[data-state=error]');
  const state = await page.locator('body').getAttribute('data-state');
  const error = await page.locator('#error').innerText();
  assert.equal(state, 'done', `the page shows an error: ${error}`);
  assert.equal(await page.locator('#error').isHidden(), true);
}

// One call's box: its status and the JSON body the page shows.
async function result(page, id) {
  const box = page.locator(`#${id}`);
  const status = Number(await box.getAttribute('data-status'));
  let text = await box.locator('pre').innerText();
  let challenge;
  if (text.startsWith('WWW-Authenticate: ')) {
    [challenge, text] = [text.slice(0, text.indexOf('\n')), text.slice(text.indexOf('\n\n') + 2)];
  }
  return { status, challenge, body: text === '(no body)' ? undefined : JSON.parse(text) };
}

// What the page must not leave behind: the code in the address, the token or the verifier in
// storage (RFC 9700 §4.2.4; the token lives in the script's memory only).
async function assertNothingLeftBehind(page) {
  assert.equal(page.url(), `${issuer}/demo/app`, 'the code is still in the address');
  const stored = await page.evaluate(() => ({
    session: sessionStorage.length, local: localStorage.length, cookie: document.cookie,
  }));
  assert.deepEqual(stored, { session: 0, local: 0, cookie: '' });
}

// The requests the page sent to the gateway.
function gatewayCalls(s) {
  return s.requests.filter((r) => new URL(r.url()).origin === new URL(gateway).origin);
}

async function assertChain(page, subject) {
  const chain = await result(page, 'r-chain');
  assert.equal(chain.status, 200, JSON.stringify(chain.body));
  const [a, b] = chain.body.hops;
  assert.equal(a.api, 'invoices');
  assert.equal(a.decision.subject, subject);
  assert.equal(b.api, 'ledger');
  assert.equal(b.status, 200);
  // RFC 8693 §4.1: the user stays in sub, API A (the exchange client) is the actor.
  assert.equal(b.answer.decision.subject, subject);
  assert.deepEqual(b.answer.decision.actors, ['exchange']);
}

async function assertNoToken(page) {
  const none = await result(page, 'r-no-token');
  assert.equal(none.status, 401);
  // RFC 6750 §3.1 and RFC 9449 §7.1: both schemes the gateway accepts, no error code.
  assert.equal(none.challenge,
    'WWW-Authenticate: Bearer realm="tessera-demo", DPoP realm="tessera-demo", algs="ES256 PS256 EdDSA Ed25519"');
}

test('alice signs in through the app: inv-1 only, inv-2 refused, the chain keeps her as sub',
  async () => {
    const s = await openPage(browser);
    const { page } = s;
    await openApp(s);
    await shot(page, 'spa-signed-out');
    await startSignIn(s);
    await signInWithPassword(page, ready.users.alice);
    await allow(page);
    await waitUntilDone(page);
    await assertNothingLeftBehind(page);

    // The code was redeemed by the page itself, at this origin's token endpoint.
    const tokenPosts = s.requests.filter((r) => r.url() === metadata.token_endpoint);
    assert.equal(tokenPosts.length, 1);
    assert.equal(tokenPosts[0].method(), 'POST');
    const form = new URLSearchParams(tokenPosts[0].postData());
    assert.equal(form.get('grant_type'), 'authorization_code');
    assert.equal(form.get('redirect_uri'), `${issuer}/demo/app`);
    assert.equal(form.get('client_id'), 'spa');
    assert.match(form.get('code_verifier'), /^[A-Za-z0-9_-]{43}$/);

    const invoices = await result(page, 'r-invoices');
    assert.equal(invoices.status, 200, JSON.stringify(invoices.body));
    assert.deepEqual(invoices.body.invoices.map((i) => i.id), ['inv-1']);
    const one = await result(page, 'r-inv-1');
    assert.equal(one.status, 200);
    assert.equal(one.body.owner, 'alice');
    const other = await result(page, 'r-inv-2');
    assert.equal(other.status, 403);
    assert.equal(other.body.error, 'access_denied');
    await assertNoToken(page);

    // alice's subject, learnt apart from the page: a code flow of our own over HTTP.
    const own = await codeFlow({ ready, metadata }, ready.users.alice,
      { scope: 'openid invoices:read' });
    const alice = subjectOf(own.tokens.access_token);
    assert.equal(await page.locator('#who').getAttribute('data-sub'), alice);
    await assertChain(page, alice);

    // Four calls with the token (each a CORS request with its preflight), one without.
    const calls = gatewayCalls(s).filter((r) => r.method() === 'GET');
    const withToken = await Promise.all(calls.map(async (r) =>
      (await r.allHeaders()).authorization !== undefined));
    assert.deepEqual(withToken, [true, true, true, true, false]);

    await shot(page, 'spa-alice');
    await finish(s, { origins: [issuer, gateway],
      expectedFailures: { [`${gateway}/invoices`]: 401, [`${gateway}/invoices/inv-2`]: 403 } });
  });

test('bob (password and TOTP) sees inv-1 and inv-2: he owns one and is the accountant of the other',
  async () => {
    const s = await openPage(browser);
    const { page } = s;
    await openApp(s);
    await startSignIn(s);
    await signInWithPassword(page, ready.users.bob);
    assert.equal(await page.title(), 'Two-step verification');
    const code = totp(ready.users.bob.totp_secret);
    await page.getByLabel(/code from your authenticator app/).fill(code);
    await submit(page, page.getByRole('button', { name: 'Verify' }));
    await allow(page);
    await waitUntilDone(page);
    await assertNothingLeftBehind(page);

    const invoices = await result(page, 'r-invoices');
    assert.equal(invoices.status, 200);
    const ids = invoices.body.invoices.map((i) => i.id);
    assert.ok(ids.includes('inv-1') && ids.includes('inv-2'), JSON.stringify(ids));
    assert.equal((await result(page, 'r-inv-1')).status, 200);
    const two = await result(page, 'r-inv-2');
    assert.equal(two.status, 200);
    assert.equal(two.body.owner, 'bob');
    const bob = await page.locator('#who').getAttribute('data-sub');
    assert.ok(bob, 'the page shows no subject');
    await assertChain(page, bob);
    await assertNoToken(page);
    await shot(page, 'spa-bob');
    await finish(s, { origins: [issuer, gateway],
      expectedFailures: { [`${gateway}/invoices`]: 401 } });
  });

test('an answer that is not for this browser is refused before the code is redeemed', async () => {
  const s = await openPage(browser);
  const { page } = s;
  const tokenRequests = () => s.requests.filter((r) => r.url() === metadata.token_endpoint).length;
  const cases = [
    // RFC 6749 §10.12: a state this browser did not make (login CSRF).
    { name: 'state', query: (p) => ({ code: 'c'.repeat(43), state: `${p.state}x`, iss: issuer }),
      message: /state mismatch/ },
    // RFC 9207 §2.4: the right state from another issuer (mix-up).
    { name: 'iss', query: (p) => ({ code: 'c'.repeat(43), state: p.state, iss: gateway }),
      message: new RegExp(`names the issuer ${gateway}`) },
    { name: 'no iss', query: (p) => ({ code: 'c'.repeat(43), state: p.state }),
      message: /names no issuer/ },
    // RFC 6749 §4.1.2.1: an error response is shown, not redeemed.
    { name: 'error', query: (p) => ({ error: 'access_denied', state: p.state, iss: issuer }),
      message: /access_denied/ },
  ];
  for (const c of cases) {
    await openApp(s);
    const pending = await startSignIn(s);
    await page.goto(`${issuer}/demo/app?${new URLSearchParams(c.query(pending))}`);
    await page.waitForSelector('body[data-state=done], body[data-state=error]');
    assert.equal(await page.locator('body').getAttribute('data-state'), 'error', c.name);
    assert.match(await page.getByRole('alert').innerText(), c.message, c.name);
    assert.equal(tokenRequests(), 0, `${c.name}: the code went to the token endpoint`);
    assert.equal(gatewayCalls(s).length, 0, `${c.name}: the page called the gateway`);
    assert.equal(page.url(), `${issuer}/demo/app`, `${c.name}: the answer stays in the address`);
    assert.equal(await page.evaluate((k) => sessionStorage.getItem(k), PENDING_KEY), null);
  }
  await shot(page, 'spa-state-mismatch');
  // The last case leaves the error in view; a replayed answer (no pending sign-in) fails too.
  await page.goto(`${issuer}/demo/app?code=abc&state=abc&iss=${encodeURIComponent(issuer)}`);
  await page.waitForSelector('body[data-state=error]');
  assert.equal(tokenRequests(), 0);
  await finish(s, { origins: [issuer, gateway] });
});

test('an ID token whose nonce is not the one this browser sent is refused, the APIs not called',
  async () => {
    const s = await openPage(browser);
    const { page } = s;
    await openApp(s);
    const pending = await startSignIn(s);
    // The AS puts the nonce it was sent in the ID token; the page compares it with the one it
    // keeps (OpenID Core §3.1.3.7 step 11). Change the kept one while on the login page.
    await page.evaluate(([k, p]) => sessionStorage.setItem(k, JSON.stringify(p)),
      [PENDING_KEY, { ...pending, nonce: `${pending.nonce}x` }]);
    await signInWithPassword(page, ready.users.alice);
    if (await page.title() === 'Allow access?') await allow(page);
    await page.waitForSelector('body[data-state=done], body[data-state=error]');
    assert.equal(await page.locator('body').getAttribute('data-state'), 'error');
    assert.match(await page.getByRole('alert').innerText(), /ID token is not for this sign-in/);
    assert.equal(gatewayCalls(s).length, 0, 'the page called the gateway');
    await finish(s, { origins: [issuer, gateway] });
  });
