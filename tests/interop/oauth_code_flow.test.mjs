// The authorization code flow against `tessera demo` with real, unmodified client libraries
// (openid-client 6, oauth4webapi 3; ID tokens checked again with jose against /jwks): discovery,
// code + PKCE for a password user and a TOTP user, form_post, consent, prompt/max_age/acr_values,
// bad authorization requests, token endpoint errors and RP-initiated logout. The user's side
// (login, TOTP and consent pages) is walked over plain HTTP by tests/lib/login.mjs. The only
// relaxation is allowInsecureRequests: the demo speaks plain http on 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN, ok } from '../lib/tessera.mjs';
import { CookieJar, parseForm, signIn, visit } from '../lib/login.mjs';
import { basic, form as postForm } from '../lib/demo.mjs';
import { insecure, openidConfig, startInteropDemo } from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const ACR_PWD = 'urn:tessera:acr:pwd';
const ACR_MFA = 'urn:tessera:acr:mfa';

let ready;
let dir;
let as;  // oauth4webapi's view of the server metadata
let spa;
let spaClient;
let callback;
let jwks;
let web;  // a confidential client with opaque access tokens, registered at start-up

const demo = startInteropDemo('tessera-code-flow-', async () => {
  ({ ready, dir, as } = demo);
  spa = ready.clients.spa;
  spaClient = { client_id: spa.client_id };
  callback = spa.redirect_uris[0];
  jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
  web = JSON.parse(ok(['client', 'create', '--id', 'web', '--type', 'confidential',
    '--grant-type', 'authorization_code', '--grant-type', 'refresh_token',
    '--redirect-uri', ready.issuer + '/web/cb', '--scope', 'openid profile offline_access invoices:read',
    '--audience', 'urn:tessera:api:invoices', '--access-token-format', 'opaque',
    '--json', '--data-dir', dir]));
});

const spaConfig = () => openidConfig(demo, spa);

// A fresh authorization request for spa: PKCE S256, state and nonce. `extra` adds parameters or,
// with undefined, removes them.
async function authorization(extra = {}) {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  const params = {
    client_id: spa.client_id,
    redirect_uri: callback,
    response_type: 'code',
    scope: 'openid profile email invoices:read',
    state,
    nonce,
    code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  };
  const url = new URL(as.authorization_endpoint);
  for (const [k, v] of Object.entries(params)) if (v !== undefined) url.searchParams.set(k, v);
  return { url: url.href, verifier, state, nonce };
}

// The same request for spa built by openid-client.
async function libAuthorization(config, scope) {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: callback,
    scope,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
    nonce,
  });
  return { url, verifier, state, nonce };
}

// oauth4webapi from the redirect to validated tokens: iss/state checked (RFC 9207), code
// redeemed with the verifier, ID token claims and nonce checked.
async function redeem(location, a, { maxAge } = {}) {
  const params = oauth.validateAuthResponse(as, spaClient, location, a.state);
  const response = await oauth.authorizationCodeGrantRequest(
    as, spaClient, oauth.None(), params, callback, a.verifier, insecure);
  return oauth.processAuthorizationCodeResponse(as, spaClient, response,
    { expectedNonce: a.nonce, requireIdToken: true, maxAge });
}

// OpenID Core §3.1.3.6 at_hash: left half of SHA-256 of the access token, base64url.
function atHash(accessToken) {
  return createHash('sha256').update(accessToken).digest().subarray(0, 16).toString('base64url');
}

// The ID token's signature against the published keys, and the claims every ID token has.
async function verifyIdToken(idToken, { nonce, accessToken }) {
  const { payload, protectedHeader } = await jose.jwtVerify(idToken, jwks, {
    issuer: ready.issuer, audience: spa.client_id, algorithms: as.id_token_signing_alg_values_supported,
  });
  assert.ok(protectedHeader.kid);
  assert.equal(payload.nonce, nonce);
  assert.equal(payload.at_hash, atHash(accessToken));
  assert.equal(typeof payload.sub, 'string');
  assert.equal(typeof payload.auth_time, 'number');
  assert.equal(typeof payload.sid, 'string');
  return payload;
}

// An error sent back to the client's redirect URI (RFC 6749 §4.1.2.1) with state and, RFC 9207
// §2, iss; oauth4webapi must read it the same way.
function assertRedirectError(page, a, error) {
  assert.equal(page.status, 303, `expected a redirect with ${error}, got ${page.status}: ${page.text.slice(0, 300)}`);
  const location = new URL(page.response.headers.get('location'));
  assert.equal(location.origin + location.pathname, callback);
  assert.equal(location.searchParams.get('error'), error, location.href);
  assert.equal(location.searchParams.get('state'), a.state);
  assert.equal(location.searchParams.get('iss'), ready.issuer);
  assert.equal(location.searchParams.get('code'), null);
  assert.throws(() => oauth.validateAuthResponse(as, spaClient, location, a.state),
    (e) => e instanceof oauth.AuthorizationResponseError && e.error === error);
  return location;
}

// An error told to the user on a page: no redirect to an unverified place (RFC 6749 §4.1.2.1).
function assertErrorPage(page) {
  assert.equal(page.status, 400, page.text.slice(0, 300));
  assert.equal(page.response.headers.get('location'), null);
  assert.match(page.response.headers.get('content-type'), /text\/html/);
}

const tokenPost = (form, headers = {}) => postForm(as.token_endpoint, form, headers);

// A user of its own for a test whose assertions depend on what the server remembers per user
// (consent), created in the running demo's store with `tessera user create`.
let users = 0;
function freshUser() {
  const username = `user${++users}x${process.pid}`;
  const password = `Pw-${oauth.generateRandomState()}`;
  ok(['user', 'create', username, '--password-stdin', '--data-dir', dir, '--json'], password + '\n');
  return { username, password };
}

// A code for alice, signed in in `jar` (consent given on the way when asked).
async function aliceCode(jar = new CookieJar(), extra = {}, user = ready.users.alice) {
  const a = await authorization(extra);
  const r = await signIn(a.url, user, { jar });
  assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
  assert.ok(r.location.searchParams.get('code'), r.location.href);
  return { a, location: r.location, jar, pages: r.pages };
}

// Alice (signed in in `jar`) authorizes the web client; its code redeemed with
// client_secret_basic. Returns the token response (opaque access token).
async function webTokens(jar) {
  const a = await authorization({ client_id: web.client_id, redirect_uri: web.redirect_uris[0], scope: 'openid offline_access invoices:read' });
  const r = await signIn(a.url, ready.users.alice, { jar });
  assert.ok(r.location?.searchParams.get('code'), `no code: ${r.location ?? r.page?.status}`);
  const t = await tokenPost({
    grant_type: 'authorization_code', code: r.location.searchParams.get('code'),
    redirect_uri: web.redirect_uris[0], code_verifier: a.verifier,
  }, basic(web.client_id, web.client_secret));
  assert.equal(t.status, 200, JSON.stringify(t.body));
  return { a, code: r.location.searchParams.get('code'), tokens: t.body };
}

// RFC 7662 by the web client itself (it may see its own tokens).
async function webIntrospect(token) {
  const r = await postForm(as.introspection_endpoint, { token }, basic(web.client_id, web.client_secret));
  assert.equal(r.status, 200);
  return r.body;
}

// --- 1. Discovery ---------------------------------------------------------------------------

test('discovery: both libraries read the code flow metadata (RFC 8414, OpenID Discovery)', async () => {
  for (const algorithm of ['oidc', 'oauth2']) {
    const issuer = new URL(ready.issuer);
    const m = await oauth.processDiscoveryResponse(
      issuer, await oauth.discoveryRequest(issuer, { algorithm, ...insecure }));
    assert.equal(m.issuer, ready.issuer);
    assert.equal(m.authorization_endpoint, ready.issuer + '/authorize');
    assert.equal(m.token_endpoint, ready.issuer + '/token');
    assert.deepEqual(m.response_types_supported, ['code']);
    assert.deepEqual(m.code_challenge_methods_supported, ['S256']);
    assert.equal(m.authorization_response_iss_parameter_supported, true);
    assert.equal(m.end_session_endpoint, ready.issuer + '/end_session');
    assert.equal(m.introspection_endpoint, ready.issuer + '/introspect');
    assert.equal(m.revocation_endpoint, ready.issuer + '/revoke');
    assert.equal(m.userinfo_endpoint, ready.issuer + '/userinfo');
    assert.equal(m.jwks_uri, ready.issuer + '/jwks');
    assert.ok(m.response_modes_supported.includes('form_post'));
    assert.ok(m.grant_types_supported.includes('authorization_code'));
    assert.ok(m.grant_types_supported.includes('refresh_token'));
    assert.ok(m.acr_values_supported.includes(ACR_PWD) && m.acr_values_supported.includes(ACR_MFA));
    assert.ok(m.token_endpoint_auth_methods_supported.includes('none'));
  }
  const config = await spaConfig();
  const m = config.serverMetadata();
  assert.equal(m.issuer, ready.issuer);
  assert.ok(m.supportsPKCE('S256'));
  assert.ok(!m.supportsPKCE('plain'));
});

// --- 2. Code + PKCE -------------------------------------------------------------------------

test('openid-client: alice signs in with a password; ID token, acr/amr and userinfo by scope', async () => {
  const config = await spaConfig();
  const jar = new CookieJar();
  const { url, verifier, state, nonce } = await libAuthorization(config, 'openid profile email invoices:read');
  const r = await signIn(url.href, ready.users.alice, { jar });
  assert.equal(r.pages[0], 'login');
  assert.ok(!r.pages.includes('totp'));
  const tokens = await client.authorizationCodeGrant(config, r.location,
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  assert.equal(tokens.token_type.toLowerCase(), 'bearer');
  assert.equal(tokens.scope, 'openid profile email invoices:read');
  assert.ok(tokens.refresh_token);
  const claims = tokens.claims();
  assert.equal(claims.acr, ACR_PWD);
  assert.deepEqual(claims.amr, ['pwd']);
  await verifyIdToken(tokens.id_token, { nonce, accessToken: tokens.access_token });

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.sub, claims.sub);
  assert.equal(info.preferred_username, 'alice');
  assert.equal(info.email, 'alice@example.com');
  assert.equal(info.email_verified, true);

  // OpenID Core §5.4: without the email scope, no email claims. Consent covers the smaller
  // scope, so no page is shown.
  const verifier2 = client.randomPKCECodeVerifier();
  const state2 = client.randomState();
  const url2 = client.buildAuthorizationUrl(config, {
    redirect_uri: callback,
    scope: 'openid profile',
    code_challenge: await client.calculatePKCECodeChallenge(verifier2),
    code_challenge_method: 'S256',
    state: state2,
  });
  const r2 = await signIn(url2.href, ready.users.alice, { jar });
  assert.deepEqual(r2.pages, []);
  const tokens2 = await client.authorizationCodeGrant(config, r2.location,
    { pkceCodeVerifier: verifier2, expectedState: state2, idTokenExpected: true });
  assert.equal(tokens2.scope, 'openid profile');
  assert.equal(tokens2.claims().sub, claims.sub);
  const info2 = await client.fetchUserInfo(config, tokens2.access_token, claims.sub);
  assert.equal(info2.preferred_username, 'alice');
  assert.equal(info2.name, 'Alice Example');
  assert.equal(info2.email, undefined);
  assert.equal(info2.email_verified, undefined);
});

test('oauth4webapi: alice signs in; iss response parameter, nonce, at_hash and userinfo', async () => {
  const { a, location } = await aliceCode();
  assert.equal(location.searchParams.get('iss'), ready.issuer);
  const result = await redeem(location, a);
  assert.equal(result.token_type.toLowerCase(), 'bearer');
  const claims = oauth.getValidatedIdTokenClaims(result);
  assert.equal(claims.nonce, a.nonce);
  assert.equal(claims.acr, ACR_PWD);
  assert.deepEqual(claims.amr, ['pwd']);
  await verifyIdToken(result.id_token, { nonce: a.nonce, accessToken: result.access_token });

  // RFC 9207 §2.4: a response whose iss is not the issuer is refused by the client.
  const forged = new URL(location);
  forged.searchParams.set('iss', 'https://attacker.example');
  assert.throws(() => oauth.validateAuthResponse(as, spaClient, forged, a.state),
    (e) => e instanceof oauth.OperationProcessingError);

  const info = await oauth.processUserInfoResponse(as, spaClient, claims.sub,
    await oauth.userInfoRequest(as, spaClient, result.access_token, insecure));
  assert.equal(info.sub, claims.sub);
  assert.equal(info.email, 'alice@example.com');

  // RFC 6750 §3.1: a userinfo request without a (valid) token is refused with a challenge.
  const bad = await fetch(as.userinfo_endpoint, { headers: { authorization: 'Bearer nope' } });
  assert.equal(bad.status, 401);
  assert.match(bad.headers.get('www-authenticate'), /^Bearer .*error="invalid_token"/);
});

test('openid-client: bob signs in with a TOTP code (acr mfa); his session satisfies acr_values=mfa', async () => {
  const config = await spaConfig();
  const jar = new CookieJar();
  const { url, verifier, state, nonce } = await libAuthorization(config, 'openid profile email');
  const r = await signIn(url.href, ready.users.bob, { jar });
  assert.deepEqual(r.pages, ['login', 'totp', 'consent']);
  const tokens = await client.authorizationCodeGrant(config, r.location,
    { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
  const claims = tokens.claims();
  assert.equal(claims.acr, ACR_MFA);
  assert.deepEqual(claims.amr, ['pwd', 'otp', 'mfa']);
  await verifyIdToken(tokens.id_token, { nonce, accessToken: tokens.access_token });
  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.preferred_username, 'bob');

  // OpenID Core §3.1.2.1 acr_values: the session already has the stronger level; no page.
  const a = await authorization({ scope: 'openid profile email', acr_values: ACR_MFA });
  const again = await signIn(a.url, ready.users.bob, { jar });
  assert.deepEqual(again.pages, []);
  const result = await redeem(again.location, a);
  const claims2 = oauth.getValidatedIdTokenClaims(result);
  assert.equal(claims2.sub, claims.sub);
  assert.equal(claims2.acr, ACR_MFA);
  assert.equal(claims2.sid, claims.sid);
});

// --- 3. form_post ---------------------------------------------------------------------------

test('response_mode=form_post: the page posts code, state and iss to the redirect URI', async () => {
  const config = await spaConfig();
  const a = await authorization({ response_mode: 'form_post' });
  const r = await signIn(a.url, ready.users.alice);
  assert.ok(r.formPost, `no form_post page: ${r.page.status} ${r.page.text.slice(0, 300)}`);
  assert.equal(r.page.status, 200);
  assert.equal(r.page.response.headers.get('location'), null);
  assert.match(r.page.text, /<form method="post" action="[^"]*"/);
  assert.match(r.page.text, /<script/);  // OAuth 2.0 Form Post Response Mode §2: auto-submits
  assert.equal(r.formPost.action, callback);
  const { code, state, iss } = r.formPost.fields;
  assert.ok(code);
  assert.equal(state, a.state);
  assert.equal(iss, ready.issuer);
  assert.equal(r.page.response.headers.get('cache-control'), 'no-store');
  // The CSP lets the form go to the redirect URI's origin.
  assert.match(r.page.response.headers.get('content-security-policy') ?? '', /form-action [^;]*127\.0\.0\.1/);

  // What the browser would post, handed to openid-client as the callback request.
  const request = new Request(callback, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(r.formPost.fields).toString(),
  });
  const tokens = await client.authorizationCodeGrant(config, request,
    { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true });
  assert.equal(tokens.claims().acr, ACR_PWD);
});

test('response_mode=form_post: errors are posted too (access_denied with state and iss)', async () => {
  const a = await authorization({ response_mode: 'form_post', prompt: 'consent' });
  const r = await signIn(a.url, ready.users.alice, { decision: 'deny' });
  assert.ok(r.formPost, `no form_post page: ${r.page.status} ${r.page.text.slice(0, 300)}`);
  assert.equal(r.formPost.action, callback);
  assert.equal(r.formPost.fields.error, 'access_denied');
  assert.equal(r.formPost.fields.state, a.state);
  assert.equal(r.formPost.fields.iss, ready.issuer);
  assert.equal(r.formPost.fields.code, undefined);
});

// --- 4. Consent -----------------------------------------------------------------------------

test('consent is remembered; prompt=consent asks again; deny gives access_denied', async () => {
  const user = freshUser();
  const first = await aliceCode(new CookieJar(), {}, user);
  assert.deepEqual(first.pages, ['login', 'consent']);
  await redeem(first.location, first.a);
  const jar = first.jar;

  // OpenID Core §3.1.2.4: the consent given is remembered; no page the second time.
  const second = await aliceCode(jar, {}, user);
  assert.deepEqual(second.pages, []);
  await redeem(second.location, second.a);

  // prompt=none when consent is missing for a scope: consent_required (OpenID Core §3.1.2.6).
  const b = await authorization({ prompt: 'none', scope: 'openid offline_access' });
  assertRedirectError(await visit(jar, b.url), b, 'consent_required');

  // A scope not consented to yet asks again.
  const wider = await aliceCode(jar, { scope: 'openid invoices:write' }, user);
  assert.deepEqual(wider.pages, ['consent']);

  const forced = await aliceCode(jar, { prompt: 'consent' }, user);
  assert.deepEqual(forced.pages, ['consent']);
  await redeem(forced.location, forced.a);

  // RFC 6749 §4.1.2.1 access_denied, state and iss included.
  const a = await authorization({ prompt: 'consent' });
  const denied = await signIn(a.url, user, { jar, decision: 'deny' });
  assert.deepEqual(denied.pages, ['consent']);
  assertRedirectError(denied.page, a, 'access_denied');
});

// --- 5. prompt, max_age, acr_values ---------------------------------------------------------

test('prompt=none: login_required without a session, a code at once with one', async () => {
  const jar = new CookieJar();
  const a = await authorization({ prompt: 'none' });
  assertRedirectError(await visit(jar, a.url), a, 'login_required');

  await aliceCode(jar);
  const b = await authorization({ prompt: 'none' });
  const page = await visit(jar, b.url);
  assert.equal(page.status, 303, page.text.slice(0, 300));
  const result = await redeem(new URL(page.response.headers.get('location')), b);
  assert.equal(oauth.getValidatedIdTokenClaims(result).acr, ACR_PWD);
});

test('id_token_hint: the signed-in user must be the one it names (OpenID Core §3.1.2.1)', async () => {
  const { a, location, jar } = await aliceCode();
  const aliceIdToken = (await redeem(location, a)).id_token;
  assert.ok(aliceIdToken);
  // Her own hint, in her browser, with prompt=none: a code at once.
  const b = await authorization({ prompt: 'none', id_token_hint: aliceIdToken });
  const page = await visit(jar, b.url);
  assert.equal(page.status, 303, page.text.slice(0, 300));
  assert.ok(new URL(page.response.headers.get('location')).searchParams.get('code'));

  // Someone else is signed in in another browser: alice's hint with prompt=none is login_required.
  const other = freshUser();
  const { jar: theirs } = await aliceCode(new CookieJar(), {}, other);
  const c = await authorization({ prompt: 'none', id_token_hint: aliceIdToken });
  assertRedirectError(await visit(theirs, c.url), c, 'login_required');
  // Without prompt=none the login page comes first; signing in as someone other than alice still
  // ends in login_required, never in a code for the wrong user.
  const d = await authorization({ id_token_hint: aliceIdToken });
  const r = await signIn(d.url, other, { jar: theirs });
  assert.equal(r.location?.searchParams.get('error'), 'login_required', r.location?.href);
  assert.equal(r.location.searchParams.get('code'), null);
  assert.equal(r.location.searchParams.get('state'), d.state);

  // A hint we did not sign is refused at the (verified) redirect URI.
  const parts = aliceIdToken.split('.');
  const forged = [parts[0], parts[1], parts[2].slice(0, -4) + (parts[2].endsWith('AAAA') ? 'BBBB' : 'AAAA')].join('.');
  const e = await authorization({ prompt: 'none', id_token_hint: forged });
  assertRedirectError(await visit(jar, e.url), e, 'invalid_request');
});

test('max_age=0 right after signing in shows the login page again (OpenID Core §3.1.2.1)', async () => {
  const { jar } = await aliceCode();
  const a = await authorization({ max_age: '0' });
  const page = await visit(jar, a.url);
  assert.equal(page.status, 200, `max_age=0 did not ask for a login: ${page.status} ${page.response.headers.get('location')}`);
  assert.match(page.text, /name="password"/);
});

test('max_age: signing in again gives a new auth_time, checked by oauth4webapi', async () => {
  const { jar, a: first, location } = await aliceCode();
  const before = oauth.getValidatedIdTokenClaims(await redeem(location, first)).auth_time;
  await new Promise((r) => setTimeout(r, 1100));  // auth_time has a one-second grain
  const a = await authorization({ max_age: '0' });
  const r = await signIn(a.url, ready.users.alice, { jar });
  assert.deepEqual(r.pages, ['login']);
  const result = await redeem(r.location, a, { maxAge: 0 });
  const claims = oauth.getValidatedIdTokenClaims(result);
  assert.ok(claims.auth_time > before, `${claims.auth_time} <= ${before}`);
});

test('prompt=login right after signing in shows the login page again (OpenID Core §3.1.2.1)', async () => {
  const { jar } = await aliceCode();
  const a = await authorization({ prompt: 'login' });
  const page = await visit(jar, a.url);
  assert.equal(page.status, 200, `prompt=login did not ask for a login: ${page.status} ${page.response.headers.get('location')}`);
  assert.match(page.text, /name="password"/);
});

test('acr_values=mfa for alice (no second factor): unmet_authentication_requirements', async () => {
  // Signing in fresh.
  const a = await authorization({ acr_values: ACR_MFA });
  const r = await signIn(a.url, ready.users.alice);
  assert.deepEqual(r.pages, ['login']);
  assertRedirectError(r.page, a, 'unmet_authentication_requirements');
  // With a password session already there.
  const { jar } = await aliceCode();
  const b = await authorization({ acr_values: ACR_MFA });
  assertRedirectError(await visit(jar, b.url), b, 'unmet_authentication_requirements');
  // prompt=none cannot step up: interaction_required.
  const c = await authorization({ acr_values: ACR_MFA, prompt: 'none' });
  const none = await visit(jar, c.url);
  assert.equal(none.status, 303);
  const error = new URL(none.response.headers.get('location')).searchParams.get('error');
  assert.ok(['interaction_required', 'unmet_authentication_requirements'].includes(error), error);
});

// --- 6. Bad authorization requests ----------------------------------------------------------

test('bad authorization requests: a page when the client or redirect URI is not verified', async () => {
  const jar = new CookieJar();
  const unregistered = await authorization({ redirect_uri: 'https://attacker.example/cb' });
  assertErrorPage(await visit(jar, unregistered.url));
  // A prefix or a variant of the registered URI is not it (RFC 9700 §4.1.3 exact match).
  for (const uri of [callback + '/more', callback + '?x=1', callback.replace('127.0.0.1', 'localhost')]) {
    assertErrorPage(await visit(jar, (await authorization({ redirect_uri: uri })).url));
  }
  assertErrorPage(await visit(jar, (await authorization({ client_id: 'nobody' })).url));
  assertErrorPage(await visit(jar, (await authorization({ client_id: undefined })).url));
  // The service client has no redirect URI at all.
  assertErrorPage(await visit(jar, (await authorization({ client_id: ready.clients.service.client_id })).url));
  // A repeated redirect_uri cannot be trusted either.
  const twice = new URL((await authorization()).url);
  twice.searchParams.append('redirect_uri', 'https://attacker.example/cb');
  assertErrorPage(await visit(jar, twice.href));
});

test('bad authorization requests: errors redirected with state and iss', async () => {
  const jar = new CookieJar();
  const cases = [
    [{ code_challenge_method: 'plain' }, 'invalid_request'],  // RFC 7636 §4.4.1; S256 only
    [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
    [{ code_challenge_method: undefined }, 'invalid_request'],
    [{ code_challenge: 'short' }, 'invalid_request'],
    [{ response_type: 'token' }, 'unsupported_response_type'],
    [{ response_type: 'code id_token' }, 'unsupported_response_type'],
    [{ response_type: undefined }, 'invalid_request'],
    [{ scope: 'openid admin' }, 'invalid_scope'],
    [{ scope: 'openid ledger:read' }, 'invalid_scope'],
    [{ response_mode: 'fragment' }, 'invalid_request'],
    [{ prompt: 'none login' }, 'invalid_request'],
    [{ max_age: '-1' }, 'invalid_request'],
    [{ resource: 'https://evil.example/' }, 'invalid_target'],
  ];
  for (const [extra, error] of cases) {
    const a = await authorization(extra);
    await assert.doesNotReject(async () => assertRedirectError(await visit(jar, a.url), a, error),
      `${JSON.stringify(extra)} -> ${error}`);
  }
  // OpenID Core §3.1.2.1: redirect_uri is required in an OpenID request. The demo's spa client
  // registers two (its callback and the single-page app), so the server cannot tell where the
  // error should go and must not pick one (RFC 6749 §4.1.2.1): an error page, no redirect.
  assert.ok(spa.redirect_uris.length > 1);
  const b = await authorization({ redirect_uri: undefined });
  assertErrorPage(await visit(jar, b.url));
  // RFC 9101 §6.1: an unsigned request object is invalid_request_object, shown on a page: the
  // redirect URI it would carry is not trusted.
  const unsigned = await authorization({ request: 'eyJhbGciOiJub25lIn0.e30.' });
  const refused = await visit(jar, unsigned.url);
  assertErrorPage(refused);
  assert.match(refused.text, /invalid_request_object/);
  // POST to the authorization endpoint (OpenID Core §3.1.2.1) is answered with a 303 to the
  // same request as a GET (a cross-site POST carries no SameSite=Lax session cookie), which is
  // then read the same way.
  const c = await authorization({ code_challenge_method: 'plain' });
  const posted = await visit(jar, as.authorization_endpoint, {
    method: 'POST', form: Object.fromEntries(new URL(c.url).searchParams),
  });
  assert.equal(posted.status, 303);
  const again = new URL(posted.response.headers.get('location'));
  assert.equal(again.origin + again.pathname, as.authorization_endpoint);
  assert.deepEqual(Object.fromEntries(again.searchParams), Object.fromEntries(new URL(c.url).searchParams));
  assertRedirectError(await visit(jar, again.href), c, 'invalid_request');
});

test('a repeated parameter: invalid_request, still with the (single) state (RFC 6749 §3.1, §4.1.2.1)', async () => {
  const jar = new CookieJar();
  for (const name of ['scope', 'response_type', 'code_challenge', 'nonce']) {
    const a = await authorization();
    const repeated = new URL(a.url);
    repeated.searchParams.append(name, repeated.searchParams.get(name));
    const page = await visit(jar, repeated.href);
    await assert.doesNotReject(async () => assertRedirectError(page, a, 'invalid_request'),
      `repeated ${name}: ${page.response.headers.get('location')}`);
  }
});

// --- 7. Token endpoint ----------------------------------------------------------------------

test('code replay: invalid_grant, and the tokens of the first redemption are revoked (RFC 6749 §4.1.2)', async () => {
  const { a, location } = await aliceCode();
  const code = location.searchParams.get('code');
  const form = {
    grant_type: 'authorization_code', code, redirect_uri: callback,
    code_verifier: a.verifier, client_id: spa.client_id,
  };
  const first = await tokenPost(form);
  assert.equal(first.status, 200);
  assert.ok(first.body.refresh_token);
  const replay = await tokenPost(form);
  assert.equal(replay.status, 400);
  assert.equal(replay.body.error, 'invalid_grant');
  // The refresh token of the first redemption is dead.
  const refreshed = await tokenPost({
    grant_type: 'refresh_token', refresh_token: first.body.refresh_token, client_id: spa.client_id,
  });
  assert.equal(refreshed.status, 400);
  assert.equal(refreshed.body.error, 'invalid_grant');
  const svc = ready.clients.service;
  const introspect = async (token) => {
    const r = await postForm(as.introspection_endpoint, { token }, basic(svc.client_id, svc.client_secret));
    assert.equal(r.status, 200);
    return r.body;
  };
  assert.deepEqual(await introspect(first.body.refresh_token), { active: false });
  // With opaque access tokens (web), the access token of the first redemption dies as well.
  const jar = new CookieJar();
  const w = await webTokens(jar);
  assert.equal((await webIntrospect(w.tokens.access_token)).active, true);
  assert.equal((await webIntrospect(w.tokens.refresh_token)).active, true);
  const webReplay = await tokenPost({
    grant_type: 'authorization_code', code: w.code, redirect_uri: web.redirect_uris[0], code_verifier: w.a.verifier,
  }, basic(web.client_id, web.client_secret));
  assert.equal(webReplay.status, 400);
  assert.equal(webReplay.body.error, 'invalid_grant');
  assert.deepEqual(await webIntrospect(w.tokens.access_token), { active: false });
  assert.deepEqual(await webIntrospect(w.tokens.refresh_token), { active: false });
  // Through openid-client the replay is a ResponseBodyError with invalid_grant.
  const config = await spaConfig();
  await assert.rejects(client.authorizationCodeGrant(config, location,
    { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce }),
  (e) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
});

test('token endpoint: wrong verifier, redirect_uri mismatch, other client, unsupported grant', async () => {
  const jar = new CookieJar();
  const redeemWith = async (change) => {
    const { a, location } = await aliceCode(jar);
    const form = {
      grant_type: 'authorization_code', code: location.searchParams.get('code'),
      redirect_uri: callback, code_verifier: a.verifier, client_id: spa.client_id, ...change,
    };
    for (const [k, v] of Object.entries(form)) if (v === undefined) delete form[k];
    return { form, a, response: await tokenPost(form) };
  };
  // RFC 7636 §4.6: the verifier must match the challenge.
  const wrong = await redeemWith({ code_verifier: oauth.generateRandomCodeVerifier() });
  assert.equal(wrong.response.status, 400);
  assert.equal(wrong.response.body.error, 'invalid_grant');
  // The code is spent by the failed attempt (one use, RFC 6749 §4.1.2).
  const retry = await tokenPost({ ...wrong.form, code_verifier: wrong.a.verifier });
  assert.equal(retry.body.error, 'invalid_grant');
  // RFC 7636 §4.5: a verifier is required.
  const missing = await redeemWith({ code_verifier: undefined });
  assert.equal(missing.response.status, 400);
  assert.equal(missing.response.body.error, 'invalid_request');
  // RFC 6749 §4.1.3: redirect_uri identical to the authorization request's.
  for (const redirect_uri of [undefined, callback + '/', spa.post_logout_redirect_uris[0]]) {
    const mismatch = await redeemWith({ redirect_uri });
    assert.equal(mismatch.response.status, 400, String(redirect_uri));
    assert.equal(mismatch.response.body.error, 'invalid_grant', String(redirect_uri));
  }
  // RFC 6749 §4.1.3: a code issued to spa, presented by web (which may use the code grant):
  // invalid_grant, and the code is burnt for spa too.
  const taken = await aliceCode(jar);
  const byWeb = await tokenPost({
    grant_type: 'authorization_code', code: taken.location.searchParams.get('code'),
    redirect_uri: callback, code_verifier: taken.a.verifier,
  }, basic(web.client_id, web.client_secret));
  assert.equal(byWeb.status, 400);
  assert.equal(byWeb.body.error, 'invalid_grant');
  const afterTheft = await tokenPost({
    grant_type: 'authorization_code', code: taken.location.searchParams.get('code'),
    redirect_uri: callback, code_verifier: taken.a.verifier, client_id: spa.client_id,
  });
  assert.equal(afterTheft.body.error, 'invalid_grant');
  // service may not use the code grant at all: RFC 6749 §5.2 unauthorized_client.
  const svc = ready.clients.service;
  const { a, location } = await aliceCode(jar);
  const stolen = await tokenPost({
    grant_type: 'authorization_code', code: location.searchParams.get('code'),
    redirect_uri: callback, code_verifier: a.verifier,
  }, basic(svc.client_id, svc.client_secret));
  assert.equal(stolen.status, 400);
  assert.equal(stolen.body.error, 'unauthorized_client');
  // Nor can an unknown client_id (RFC 6749 §5.2 invalid_client, 401).
  const unknown = await tokenPost({
    grant_type: 'authorization_code', code: location.searchParams.get('code'),
    redirect_uri: callback, code_verifier: a.verifier, client_id: 'nobody',
  });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error, 'invalid_client');
  // OAuth 2.1 §10: no password grant.
  const password = await tokenPost({
    grant_type: 'password', username: 'alice', password: ready.users.alice.password, client_id: spa.client_id,
  });
  assert.equal(password.status, 400);
  assert.equal(password.body.error, 'unsupported_grant_type');
  // A made-up code.
  const bogus = await tokenPost({
    grant_type: 'authorization_code', code: 'x'.repeat(43), redirect_uri: callback,
    code_verifier: a.verifier, client_id: spa.client_id,
  });
  assert.equal(bogus.status, 400);
  assert.equal(bogus.body.error, 'invalid_grant');
});

// --- 11. RP-initiated logout ----------------------------------------------------------------

test('RP-initiated logout: id_token_hint + registered URI + state, then the session is gone', async () => {
  const config = await spaConfig();
  const { a, location, jar } = await aliceCode(new CookieJar(), { scope: 'openid profile offline_access' });
  const tokens = await client.authorizationCodeGrant(config, location,
    { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true });
  assert.ok(tokens.refresh_token);
  // The web client too, in the same browser session.
  const w = await webTokens(jar);
  assert.equal((await webIntrospect(w.tokens.access_token)).active, true);
  const state = client.randomState();
  const url = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token, post_logout_redirect_uri: spa.post_logout_redirect_uris[0], state,
  });
  const page = await visit(jar, url.href);
  assert.equal(page.status, 303, page.text.slice(0, 300));
  const to = new URL(page.response.headers.get('location'));
  assert.equal(to.origin + to.pathname, spa.post_logout_redirect_uris[0]);
  assert.equal(to.searchParams.get('state'), state);

  // The session is gone: prompt=none needs a login again.
  const b = await authorization({ prompt: 'none' });
  assertRedirectError(await visit(jar, b.url), b, 'login_required');
  // The refresh token of that session is revoked, and so are the opaque access tokens.
  await assert.rejects(client.refreshTokenGrant(config, tokens.refresh_token),
    (e) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
  assert.deepEqual(await webIntrospect(w.tokens.access_token), { active: false });
  assert.deepEqual(await webIntrospect(w.tokens.refresh_token), { active: false });
});

// The review's finding: signing in again (prompt=login) in the same browser must not leave the
// first grant outside the session that logout ends.
test('RP-initiated logout after a second login in the same browser revokes both grants', async () => {
  const jar = new CookieJar();
  const scope = { scope: 'openid offline_access' };
  const first = await aliceCode(jar, scope);
  const one = await redeem(first.location, first.a);
  const second = await aliceCode(jar, { ...scope, prompt: 'login' });
  assert.ok(second.pages.includes('login'), JSON.stringify(second.pages));
  const two = await redeem(second.location, second.a);
  const sid = (t) => oauth.getValidatedIdTokenClaims(t).sid;
  assert.equal(sid(two), sid(one), 'the same user signing in again keeps the session');
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('id_token_hint', two.id_token);
  assert.equal((await visit(jar, url.href)).status, 200);
  for (const t of [one, two]) {
    const r = await tokenPost({ grant_type: 'refresh_token', refresh_token: t.refresh_token,
      client_id: spa.client_id });
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, 'invalid_grant');
  }
});

test('RP-initiated logout: unregistered post_logout_redirect_uri is a page, never a redirect', async () => {
  const { a, location, jar } = await aliceCode();
  const result = await redeem(location, a);
  for (const uri of ['https://attacker.example/out', callback]) {
    const url = new URL(as.end_session_endpoint);
    url.searchParams.set('id_token_hint', result.id_token);
    url.searchParams.set('post_logout_redirect_uri', uri);
    url.searchParams.set('state', 'x');
    assertErrorPage(await visit(jar, url.href));
  }
  // Without an id_token_hint or client_id the client is unknown: no redirect either.
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('post_logout_redirect_uri', spa.post_logout_redirect_uris[0]);
  assertErrorPage(await visit(jar, url.href));
  // A forged hint.
  const forged = new URL(as.end_session_endpoint);
  forged.searchParams.set('id_token_hint', result.id_token.slice(0, -4) + 'AAAA');
  assertErrorPage(await visit(jar, forged.href));
  // Still signed in after all that.
  const b = await authorization({ prompt: 'none' });
  assert.equal((await visit(jar, b.url)).status, 303);
  const loc = (await visit(jar, (await authorization({ prompt: 'none' })).url)).response.headers.get('location');
  assert.ok(new URL(loc).searchParams.get('code'), loc);
});

test('RP-initiated logout without id_token_hint asks the user first (decision=logout)', async () => {
  const { jar } = await aliceCode();
  const url = new URL(as.end_session_endpoint);
  url.searchParams.set('client_id', spa.client_id);
  url.searchParams.set('post_logout_redirect_uri', spa.post_logout_redirect_uris[0]);
  url.searchParams.set('state', 'st4te');
  const page = await visit(jar, url.href);
  assert.equal(page.status, 200, page.text.slice(0, 300));
  assert.match(page.text, /name="decision" value="logout"/);
  // "Stay signed in" keeps the session.
  const form = parseForm(page.text);
  const target = new URL(form.action, ready.issuer).href;
  const stay = await visit(jar, target, { method: 'POST', form: { ...form.fields, decision: 'cancel' } });
  assert.equal(stay.status, 200);
  const still = await visit(jar, (await authorization({ prompt: 'none' })).url);
  assert.ok(new URL(still.response.headers.get('location')).searchParams.get('code'));
  // Sign out: back to the registered URI with state.
  const again = parseForm((await visit(jar, url.href)).text);
  const out = await visit(jar, new URL(again.action, ready.issuer).href,
    { method: 'POST', form: { ...again.fields, decision: 'logout' } });
  assert.equal(out.status, 303, out.text.slice(0, 300));
  const to = new URL(out.response.headers.get('location'));
  assert.equal(to.origin + to.pathname, spa.post_logout_redirect_uris[0]);
  assert.equal(to.searchParams.get('state'), 'st4te');
  const b = await authorization({ prompt: 'none' });
  assertRedirectError(await visit(jar, b.url), b, 'login_required');
  // A form sent without the page's CSRF token is refused.
  const forged = await visit(jar, new URL(again.action, ready.issuer).href,
    { method: 'POST', form: { interaction: again.fields.interaction, decision: 'logout' } });
  assert.equal(forged.status, 403);
});
