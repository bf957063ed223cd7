// OpenID Connect Front-Channel Logout 1.0 in a real browser: Debian's chromium driven by npm
// playwright-core against `tessera demo`. The relying parties are an HTTP server of this test on
// 127.0.0.1 that records every request. alice signs in through the server's own login page for
// two clients in one browser session: `fc-rp`, registered with a frontchannel_logout_uri (and
// frontchannel_logout_session_required) and a post_logout_redirect_uri, and `fc-plain`, without
// one. In another browser (another session) she signs in for `fc-other`, which has a
// frontchannel_logout_uri of its own. RP-initiated logout (OpenID RP-Initiated Logout §2-3) with
// fc-rp's id_token_hint then shows the signed-out page, which frames fc-rp's logout URI with iss
// and sid (Front-Channel Logout §2-3) under a CSP frame-src of exactly that origin, and after
// the frame has loaded a Refresh header takes the browser to the post-logout redirect URI with
// state. fc-plain and fc-other get nothing, and the other session lives on. Checked as in
// login_pages: no CSP violation or script error, no request to an unexpected origin.
// Screenshots go to TESSERA_SCREENSHOTS.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  finish, launchChromium, openPage, sessionCookie, shot, signInWithPassword,
} from '../lib/browser.mjs';
import { BIN, freePort, ok, startTessera, waitFor } from '../lib/tessera.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

let demo;
let ready;
let issuer;
let metadata;
let dataDir;
let chromium;
let browser;

// The relying parties: every request recorded in arrival order (path and query); each answers a
// tiny HTML page (a data: icon, so the browser asks for no /favicon.ico) naming the path.
let rpServer;
let rp;  // its origin, http://127.0.0.1:PORT
const received = [];

before(async () => {
  rpServer = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://rp.invalid');
    received.push({ at: Date.now(), method: req.method, path: url.pathname,
      query: Object.fromEntries(url.searchParams), keys: [...url.searchParams.keys()] });
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">` +
      `<link rel="icon" href="data:,"><title>rp ${url.pathname}</title></head>` +
      `<body><p id="path">${url.pathname}</p></body></html>`);
  });
  const rpPort = await freePort(1);
  await new Promise((resolve) => rpServer.listen(rpPort, '127.0.0.1', resolve));
  rp = `http://127.0.0.1:${rpPort}`;

  dataDir = mkdtempSync(join(tmpdir(), 'tessera-fclogout-data-'));
  const port = await freePort();
  demo = startTessera(['demo', '--port', String(port), '--data-dir', dataDir]);
  const out = await waitFor(() => demo.out().includes('\n') && demo.out(), 'readiness line');
  ready = JSON.parse(out.trim());
  issuer = ready.issuer;
  const discovery = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(discovery.status, 200);
  metadata = await discovery.json();
  chromium = await launchChromium('tessera-fclogout-profile-');
  browser = chromium.browser;
});

after(async () => {
  await chromium?.close();
  demo?.child.kill('SIGKILL');
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  if (rpServer) await new Promise((resolve) => rpServer.close(resolve));
});

// A public client with the code flow, its callback on the relying parties' server.
function createClient(id, extra = []) {
  ok(['client', 'create', '--id', id, '--type', 'public', '--grant-type', 'authorization_code',
    '--redirect-uri', `${rp}/${id}/callback`, '--scope', 'openid profile', '--skip-consent',
    ...extra, '--data-dir', dataDir]);
}

// RFC 6749 §4.1.1 with PKCE S256 (RFC 7636 §4).
function authorizeRequest(clientId, { prompt } = {}) {
  const verifier = randomBytes(32).toString('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const url = new URL(metadata.authorization_endpoint);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', clientId);
  url.searchParams.set('redirect_uri', `${rp}/${clientId}/callback`);
  url.searchParams.set('scope', 'openid profile');
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', nonce);
  url.searchParams.set('code_challenge', createHash('sha256').update(verifier).digest('base64url'));
  url.searchParams.set('code_challenge_method', 'S256');
  if (prompt) url.searchParams.set('prompt', prompt);
  return { clientId, url: url.href, verifier, state, nonce };
}

function decodeJwt(jwt) {
  return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString());
}

// The query the browser arrived with at `req`'s callback on the relying parties' server.
function callbackParams(page, req) {
  const url = new URL(page.url());
  assert.equal(url.origin + url.pathname, `${rp}/${req.clientId}/callback`,
    `not at ${req.clientId}'s callback: ${page.url()}`);
  const params = Object.fromEntries(url.searchParams);
  assert.equal(params.state, req.state);
  assert.equal(params.iss, issuer);  // RFC 9207 §2
  return params;
}

// From an authorization request to the callback: the login page when the browser has no
// session, nothing (skip-consent) when it has one; then the code redeemed at the token endpoint
// (RFC 6749 §4.1.3). The ID token's claims and the token response.
async function codeFlow(s, clientId, { login }) {
  const { page } = s;
  const req = authorizeRequest(clientId);
  await page.goto(req.url);
  if (login) {
    assert.equal(await page.title(), 'Sign in', `no login page for ${clientId}: ${page.url()}`);
    await signInWithPassword(page, ready.users.alice);
  }
  const params = callbackParams(page, req);
  assert.equal(params.error, undefined, JSON.stringify(params));
  assert.equal(typeof params.code, 'string');
  const response = await fetch(metadata.token_endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code', code: params.code,
      redirect_uri: `${rp}/${clientId}/callback`, client_id: clientId,
      code_verifier: req.verifier,
    }),
  });
  const tokens = await response.json();
  assert.equal(response.status, 200, JSON.stringify(tokens));
  assert.equal(typeof tokens.id_token, 'string');
  const claims = decodeJwt(tokens.id_token);
  assert.equal(claims.iss, issuer);
  assert.deepEqual([claims.aud].flat(), [clientId]);
  assert.equal(claims.nonce, req.nonce);
  assert.equal(typeof claims.sid, 'string');
  assert.ok(claims.sid.length > 0, 'empty sid');
  return { tokens, claims };
}

test('front-channel logout: the signed-out page frames the RP with iss and sid, then redirects',
  async () => {
    assert.equal(metadata.frontchannel_logout_supported, true);
    assert.equal(metadata.frontchannel_logout_session_supported, true);
    assert.equal(typeof metadata.end_session_endpoint, 'string');

    createClient('fc-rp', ['--post-logout-redirect-uri', `${rp}/after-logout`,
      '--frontchannel-logout-uri', `${rp}/fc-logout`, '--frontchannel-logout-session-required']);
    createClient('fc-plain');
    createClient('fc-other', ['--frontchannel-logout-uri', `${rp}/fc-logout-other`]);
    const shown = JSON.parse(ok(['client', 'show', 'fc-rp', '--json', '--data-dir', dataDir]));
    assert.equal(shown.frontchannel_logout_uri, `${rp}/fc-logout`);
    assert.equal(shown.frontchannel_logout_session_required, true);

    // Browser A: one session, two clients. Browser B: another session of the same user, for
    // fc-other (which has a front-channel logout URI of its own).
    const a = await openPage(browser);
    const b = await openPage(browser);
    const rpSignIn = await codeFlow(a, 'fc-rp', { login: true });
    const plainSignIn = await codeFlow(a, 'fc-plain', { login: false });
    const otherSignIn = await codeFlow(b, 'fc-other', { login: true });
    const sid = rpSignIn.claims.sid;
    assert.equal(plainSignIn.claims.sid, sid, 'fc-plain is not of the same session');
    assert.notEqual(otherSignIn.claims.sid, sid, 'browser B shares browser A\'s session');
    assert.ok(await sessionCookie(a.context, issuer), 'browser A has no session');

    // Nothing was ever sent to a logout URI before the logout.
    assert.deepEqual(received.filter((r) => r.path.startsWith('/fc-logout')), []);

    // RP-Initiated Logout §2-3: the hint names this very session, so no confirmation is asked.
    const mark = received.length;
    const state = randomBytes(16).toString('base64url');
    const endSession = new URL(metadata.end_session_endpoint);
    endSession.searchParams.set('id_token_hint', rpSignIn.tokens.id_token);
    endSession.searchParams.set('post_logout_redirect_uri', `${rp}/after-logout`);
    endSession.searchParams.set('state', state);
    const signedOut = await a.page.goto(endSession.href);
    assert.equal(signedOut.status(), 200);
    const headers = signedOut.headers();
    const html = await signedOut.text();
    assert.match(html, /<title>Signed out<\/title>/, 'not the signed-out page (a confirmation?)');
    assert.equal(await sessionCookie(a.context, issuer), undefined, 'session cookie still there');

    // Front-Channel Logout §3: exactly one frame, fc-rp's logout URI with iss and sid (§2).
    const srcs = [...html.matchAll(/<iframe[^>]*\ssrc="([^"]*)"/g)]
      .map((m) => m[1].replace(/&amp;/g, '&'));
    assert.equal(srcs.length, 1, `frames: ${JSON.stringify(srcs)}`);
    const frame = new URL(srcs[0]);
    assert.equal(frame.origin + frame.pathname, `${rp}/fc-logout`);
    assert.equal(frame.searchParams.get('iss'), issuer);
    assert.equal(frame.searchParams.get('sid'), sid);

    // The page's CSP allows framing exactly the RP's origin and nothing else changed: still
    // default-src 'none' and never framed itself.
    const csp = Object.fromEntries(headers['content-security-policy'].split(';')
      .map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
    assert.deepEqual(csp['frame-src'], [rp]);
    assert.deepEqual(csp['default-src'], ["'none'"]);
    assert.deepEqual(csp['frame-ancestors'], ["'none'"]);
    // The post-logout redirect waits for the frames (a Refresh, not a 303).
    assert.equal(headers.refresh, `2;url=${rp}/after-logout?state=${state}`);

    // The browser leaves for the post-logout redirect URI, with state (RP-Initiated Logout §3).
    await a.page.waitForURL((u) => u.origin + u.pathname === `${rp}/after-logout`,
      { timeout: 15000 });
    assert.equal(new URL(a.page.url()).searchParams.get('state'), state);
    await a.page.waitForLoadState('load');
    await shot(a.page, 'frontchannel-after-logout');

    // The browser loaded the frame inside the signed-out page.
    const framed = a.frames.filter((f) => f.url.startsWith(`${rp}/fc-logout`));
    assert.equal(framed.length, 1, JSON.stringify(a.frames));
    assert.equal(new URL(framed[0].parent).href, endSession.href);

    // What the relying parties received from the logout on: fc-rp's logout URI once, with the
    // issuer and the ID token's sid and nothing else, before the browser reached the
    // post-logout redirect URI; no request for fc-plain (no URI) or fc-other (not of this
    // session).
    const since = received.slice(mark);
    assert.deepEqual(since.map((r) => `${r.method} ${r.path}`),
      ['GET /fc-logout', 'GET /after-logout'], JSON.stringify(since));
    const [logoutRequest, afterRequest] = since;
    assert.deepEqual(logoutRequest.keys.sort(), ['iss', 'sid']);
    assert.equal(logoutRequest.query.iss, issuer);
    assert.equal(logoutRequest.query.sid, sid);
    assert.ok(logoutRequest.at <= afterRequest.at, 'redirected before the frame was asked for');
    assert.deepEqual(afterRequest.query, { state });
    assert.deepEqual(received.filter((r) => r.path.startsWith('/fc-logout-other')), []);

    // Browser B's session was not involved: still signed in (prompt=none answers with a code,
    // OpenID Core §3.1.2.1) and still nothing at fc-other's logout URI.
    const silent = authorizeRequest('fc-other', { prompt: 'none' });
    await b.page.goto(silent.url);
    const stillIn = callbackParams(b.page, silent);
    assert.equal(stillIn.error, undefined, JSON.stringify(stillIn));
    assert.equal(typeof stillIn.code, 'string');
    assert.ok(await sessionCookie(b.context, issuer), 'browser B lost its session');

    // Browser A's session is gone: prompt=none now needs a login (OpenID Core §3.1.2.6).
    const after = authorizeRequest('fc-rp', { prompt: 'none' });
    await a.page.goto(after.url);
    assert.equal(callbackParams(a.page, after).error, 'login_required');

    assert.deepEqual(received.filter((r) => r.path.startsWith('/fc-logout')).length, 1,
      'a logout URI was asked for more than once or by the wrong session');
    await finish(a, { origins: [issuer, rp], consoleErrors: false });
    await finish(b, { origins: [issuer, rp], consoleErrors: false });
  });
