// The user's side of OpenID CIBA Core 1.0 (poll mode) and the user's account page, in a real
// browser: Debian's chromium driven by npm playwright-core against `tessera demo`. alice signs in
// through the server's login and consent pages (the spa client's code flow with PKCE, RFC 6749
// §4.1, RFC 7636). The demo's `desk` client then asks for her at /bc-authorize (§7.1) with a
// binding message and polls the token endpoint (§10.1): authorization_pending, slow_down (§11).
// In the same browser alice finds the request at /ciba, follows its link to the device pages,
// sees the binding message on the consent page and allows; the poll, once the interval has
// passed, gets an access token and an ID token naming her, and /ciba has nothing waiting any
// more. At /account she sees her session and the applications she allowed (as the store lists
// them); a second browser signs in as her too, she signs that session out from the first
// browser (it is gone there: prompt=none needs a login, /account answers 401), then her own
// (the signed-out page, then 401). Every page is checked for Content Security Policy
// violations, script errors, console errors and requests leaving the server's origin.
// Screenshots go to TESSERA_SCREENSHOTS. One poll waits out the grown interval (ten seconds).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import {
  finish, heading, lastDocument, launchChromium, openPage, sessionCookie, shot, signInWithPassword,
  submit,
} from '../lib/browser.mjs';
import { basic, form } from '../lib/demo.mjs';
import {
  authorizationRequest, authorizationUrl, redeemCode, startInteropDemo,
} from '../lib/interop.mjs';
import { BIN, ok } from '../lib/tessera.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const CIBA = 'urn:openid:params:grant-type:ciba';
const MESSAGE = 'Desk 42';

let chromium;
const demo = startInteropDemo('tessera-account-ciba-', async () => {
  chromium = await launchChromium('tessera-account-ciba-profile-');
});
after(async () => chromium?.close());

// Shared by the tests below, which run in order: alice's first browser (its session stays
// signed in until the last test), her user id and the sid of that session.
let first;
let alice;
let firstSid;

const issuer = () => demo.ready.issuer;
// What the store holds, read by the CLI on the demo's data directory (`tessera user ... --json`).
const storeSays = (...args) => JSON.parse(ok([...args, '--json', '--data-dir', demo.dir]));
// What every browser of this file ends with. The 401s of /account after signing out are asked
// for on purpose; the demo's callback answers JSON (no icon link, unlike the server's pages), so
// the browser asks for /favicon.ico there, which the server does not have.
const checks = () => ({
  origins: [issuer()],
  expectedFailures: { [`${issuer()}/account`]: 401, [`${issuer()}/favicon.ico`]: 404 },
});

// In the browser of `s`: the spa client's authorization request (code flow, PKCE S256), the
// login page answered as alice, the consent page allowed when shown; the code redeemed by
// oauth4webapi (iss, state, ID token and its nonce checked). Returns the ID token's claims.
async function signInToSpa(s, { consent }) {
  const { page } = s;
  const spa = demo.ready.clients.spa;
  const a = await authorizationRequest(spa, { scope: 'openid profile' });
  await page.goto(authorizationUrl(demo.as, spa.client_id, a.params).href);
  assert.equal(lastDocument(s).status(), 200);
  assert.equal(await page.title(), 'Sign in');
  assert.equal(await heading(page), 'Sign in');
  await signInWithPassword(page, demo.ready.users.alice);
  if (consent) {
    assert.equal(await heading(page), 'Allow access?');
    assert.match(await page.locator('main').innerText(), /Signed in as alice/);
    await submit(page, page.getByRole('button', { name: 'Allow' }));
  }
  const location = new URL(page.url());
  assert.equal(location.origin + location.pathname, spa.redirect_uris[0],
    `not at the callback: ${page.url()}`);
  const tokens = await redeemCode(demo.as, spa, a, location);
  return oauth.getValidatedIdTokenClaims(tokens);
}

// CIBA §10.1: desk's token request for `request`, with the time it was sent.
async function poll(request) {
  const desk = demo.ready.clients.desk;
  request.polledAt = Date.now();
  return form(demo.as.token_endpoint, { grant_type: CIBA, auth_req_id: request.auth_req_id },
    basic(desk.client_id, desk.client_secret));
}

// The sections of /account under "Where you are signed in": each session's text and the sid
// its "Sign out there" form names.
async function sessionsShown(page) {
  const sections = page.locator('section').filter({
    has: page.getByRole('button', { name: 'Sign out there' }),
  });
  const shown = [];
  for (const section of await sections.all()) {
    shown.push({
      text: (await section.locator('p').innerText()).trim(),
      sid: await section.locator('input[name=sid]').getAttribute('value'),
    });
  }
  return shown;
}

// The sections under "Applications you allowed": the client and scopes each shows.
async function applicationsShown(page) {
  const sections = page.locator('section').filter({
    has: page.getByRole('button', { name: 'Withdraw access' }),
  });
  return (await sections.locator('p').allInnerTexts()).map((t) => t.trim());
}

async function openAccount(s) {
  const response = await s.page.goto(`${issuer()}/account`);
  assert.equal(response.status(), 200);
  assert.equal(await s.page.title(), 'Your account');
  assert.equal(await heading(s.page), 'Your account');
  assert.match(await s.page.locator('main').innerText(), /Signed in as alice\n/);
}

test('alice signs in through the login and consent pages; her ID token names her', async () => {
  first = await openPage(chromium.browser);
  const claims = await signInToSpa(first, { consent: true });
  const users = storeSays('user', 'list');
  alice = users.find((u) => u.username === 'alice')?.id;
  assert.ok(alice, JSON.stringify(users));
  assert.equal(claims.sub, alice);
  assert.equal(typeof claims.sid, 'string');
  firstSid = claims.sid;
  assert.ok(await sessionCookie(first.context, issuer()), 'no session cookie');
});

test('desk asks for alice; she approves "Desk 42" from /ciba; the poll then gets her tokens',
  async () => {
    const { page } = first;
    const desk = demo.ready.clients.desk;
    // §7.1 with client_secret_basic; §7.3 the answer.
    const asked = await form(demo.as.backchannel_authentication_endpoint,
      { scope: 'openid', login_hint: 'alice', binding_message: MESSAGE },
      basic(desk.client_id, desk.client_secret));
    assert.equal(asked.status, 200, asked.text);
    const request = asked.body;
    assert.equal(typeof request.auth_req_id, 'string');
    assert.ok(request.auth_req_id.length >= 43, request.auth_req_id);
    assert.equal(request.interval, 5);
    assert.ok(request.expires_in > 0 && request.expires_in <= 600, asked.text);
    let interval = request.interval;

    // §11: nobody has decided yet; asking again at once is too fast, and the interval grows by
    // 5 seconds (RFC 8628 §3.5, which the poll shares).
    const pending = await poll(request);
    assert.equal(pending.status, 400, pending.text);
    assert.equal(pending.body.error, 'authorization_pending');
    const tooSoon = await poll(request);
    assert.equal(tooSoon.status, 400, tooSoon.text);
    assert.equal(tooSoon.body.error, 'slow_down');
    interval += 5;

    // The inbox: the request with its client and binding message, and a link to decide it.
    const inbox = await page.goto(`${issuer()}/ciba`);
    assert.equal(inbox.status(), 200);
    assert.equal(await page.title(), 'Requests waiting for you');
    assert.equal(await heading(page), 'Requests waiting for you');
    assert.match(await page.locator('main').innerText(), /Signed in as alice/);
    const entries = page.locator('section');
    assert.equal(await entries.count(), 1, await page.locator('main').innerText());
    const entry = entries.first();
    assert.equal((await entry.getByRole('heading', { level: 2 }).innerText()).trim(), 'desk');
    assert.equal((await entry.locator('strong').innerText()).trim(), MESSAGE);
    const link = entry.getByRole('link', { name: /^Review request / });
    assert.equal(await link.count(), 1);
    const userCode = (await link.innerText()).trim().replace(/^Review request /, '');
    assert.match(userCode, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    await shot(page, 'ciba-inbox');

    // The device code page, the code filled in; Continue: alice is signed in here and is the
    // user desk named, so the consent page comes next, with the binding message.
    await submit(page, link);
    assert.equal(lastDocument(first).status(), 200);
    assert.equal(new URL(page.url()).pathname, '/device');
    assert.equal(await heading(page), 'Connect a device');
    assert.equal(await page.getByLabel('Code', { exact: true }).inputValue(), userCode);
    await submit(page, page.getByRole('button', { name: 'Continue' }));
    assert.equal(lastDocument(first).status(), 200);
    assert.equal(await page.title(), 'Allow access?');
    assert.equal(await heading(page), 'Allow access?');
    const consent = await page.locator('main').innerText();
    assert.match(consent, /desk wants to:/);
    assert.match(consent,
      /It shows: Desk 42\. Allow it only if you started this yourself\./);
    assert.match(consent, /Signed in as alice/);
    assert.deepEqual((await page.getByRole('listitem').allInnerTexts()).map((t) => t.trim()),
      ['Sign you in with your account']);
    assert.equal(await page.getByText(MESSAGE, { exact: true }).count(), 1);
    await shot(page, 'ciba-consent');
    await submit(page, page.getByRole('button', { name: 'Allow' }));
    assert.equal(lastDocument(first).status(), 200);
    assert.equal(await heading(page), 'Request approved');
    await shot(page, 'ciba-approved');

    // The next poll once the grown interval has passed (the server counts whole seconds): the
    // tokens (§10.1.1), the ID token signed by the server for desk and naming alice.
    await sleep(Math.max(0, request.polledAt + (interval + 1) * 1000 - Date.now()));
    const approved = await poll(request);
    assert.equal(approved.status, 200, approved.text);
    const tokens = approved.body;
    assert.equal(typeof tokens.access_token, 'string');
    assert.equal(tokens.token_type, 'Bearer');
    assert.equal(typeof tokens.id_token, 'string');
    const { payload: id } = await jose.jwtVerify(tokens.id_token,
      jose.createRemoteJWKSet(new URL(demo.as.jwks_uri)),
      { issuer: issuer(), audience: desk.client_id });
    assert.equal(id.sub, alice);
    // Issued once.
    const again = await poll(request);
    assert.equal(again.status, 400, again.text);
    assert.equal(again.body.error, 'invalid_grant');

    // Decided: /ciba no longer lists it.
    await page.goto(`${issuer()}/ciba`);
    assert.equal(lastDocument(first).status(), 200);
    assert.equal(await heading(page), 'Requests waiting for you');
    assert.equal(await page.getByText('Nothing is waiting.', { exact: true }).count(), 1);
    assert.equal(await page.getByRole('link', { name: /Review request/ }).count(), 0);
  });

test('/account: sessions and applications; signing out another browser, then this one',
  async () => {
    const { page } = first;
    await openAccount(first);
    // One session, this browser's.
    const one = await sessionsShown(page);
    assert.equal(one.length, 1, JSON.stringify(one));
    assert.equal(one[0].sid, firstSid);
    assert.match(one[0].text,
      /^Signed in \d{4}-\d\d-\d\d \d\d:\d\d UTC with password \(this browser\)$/);
    // The applications: what alice allowed on the consent pages, spa at sign-in and desk for
    // the backchannel request, as the store has them.
    const consents = storeSays('user', 'consents', 'alice');
    assert.deepEqual(consents.map((c) => c.client_id).sort(), ['desk', 'spa']);
    assert.deepEqual(await applicationsShown(page),
      consents.map((c) => `${c.client_id}: ${c.scopes.join(' ')}`));
    assert.ok((await applicationsShown(page)).includes('spa: openid profile'));
    assert.equal(await page.getByText('None.', { exact: true }).count(), 0);
    await shot(page, 'account-one-session');

    // A second browser: alice signs in again there (consent remembered: no consent page), a
    // session of its own.
    const second = await openPage(chromium.browser);
    const secondSid = (await signInToSpa(second, { consent: false })).sid;
    assert.notEqual(secondSid, firstSid);
    assert.deepEqual(storeSays('user', 'sessions', 'alice').map((x) => x.sid).sort(),
      [firstSid, secondSid].sort());

    // Both at /account in the first browser, only the first one marked as this browser.
    await openAccount(first);
    const both = await sessionsShown(page);
    assert.deepEqual(both.map((x) => x.sid).sort(), [firstSid, secondSid].sort());
    assert.deepEqual(both.filter((x) => x.text.endsWith('(this browser)')).map((x) => x.sid),
      [firstSid]);
    await shot(page, 'account-two-sessions');

    // Sign out there, on the other one: back at /account (post/redirect/get), one session left.
    const other = page.locator('section').filter({ hasNotText: '(this browser)' })
      .filter({ has: page.getByRole('button', { name: 'Sign out there' }) });
    assert.equal(await other.count(), 1);
    await submit(page, other.getByRole('button', { name: 'Sign out there' }));
    assert.equal(lastDocument(first).status(), 200);
    assert.equal(page.url(), `${issuer()}/account`);
    assert.equal(await heading(page), 'Your account');
    assert.deepEqual((await sessionsShown(page)).map((x) => x.sid), [firstSid]);
    assert.deepEqual(storeSays('user', 'sessions', 'alice').map((x) => x.sid), [firstSid]);

    // The second browser's session is gone: prompt=none needs a login (OpenID Core §3.1.2.6),
    // and /account there says it is not signed in.
    const spa = demo.ready.clients.spa;
    const silent = await authorizationRequest(spa, { scope: 'openid profile', prompt: 'none' });
    await second.page.goto(authorizationUrl(demo.as, spa.client_id, silent.params).href);
    const answer = new URL(second.page.url());
    assert.equal(answer.origin + answer.pathname, spa.redirect_uris[0], answer.href);
    assert.equal(answer.searchParams.get('error'), 'login_required', answer.href);
    assert.equal(answer.searchParams.get('state'), silent.state);
    assert.equal(answer.searchParams.get('code'), null);
    const refused = await second.page.goto(`${issuer()}/account`);
    assert.equal(refused.status(), 401);
    assert.equal(await heading(second.page), 'Not signed in');
    await finish(second, checks());

    // Sign out there, on this browser's own session: the signed-out page, the cookie cleared,
    // and /account answers 401.
    const own = page.locator('section').filter({ hasText: '(this browser)' });
    assert.equal(await own.count(), 1);
    await submit(page, own.getByRole('button', { name: 'Sign out there' }));
    assert.equal(lastDocument(first).status(), 200);
    assert.equal(await page.title(), 'Signed out');
    assert.equal(await heading(page), 'You are signed out');
    assert.equal(await sessionCookie(first.context, issuer()), undefined, 'session cookie kept');
    await shot(page, 'account-signed-out');
    assert.deepEqual(storeSays('user', 'sessions', 'alice'), []);
    const gone = await page.goto(`${issuer()}/account`);
    assert.equal(gone.status(), 401);
    assert.equal(await page.title(), 'Not signed in');
    assert.equal(await heading(page), 'Not signed in');
    await finish(first, checks());
  });
