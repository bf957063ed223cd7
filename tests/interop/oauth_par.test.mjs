// Pushed authorization requests (RFC 9126) at Tessera with real, unmodified client libraries
// (oauth4webapi 3, openid-client 6): discovery (§5), pushes with client_secret_basic and with a
// public client (§2.1), the request_uri at /authorize through to tokens (§4), DPoP proofs at the
// PAR endpoint binding the code (RFC 9449 §10.1), errors as JSON (§2.3), a request_uri used once
// and only by its client, a client registered with --require-pushed-authorization-requests (§6)
// and, on `tessera serve`, as.require_pushed_authorization_requests (§5). The user's side of the
// code flow (login and consent pages) is walked over plain HTTP by tests/lib/login.mjs. The only
// relaxation is allowInsecureRequests: the servers speak plain http on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN, ok } from '../lib/tessera.mjs';
import { CookieJar, signIn, visit } from '../lib/login.mjs';
import { basic, form } from '../lib/demo.mjs';
import {
  accessTokenClaims, authorizationRequest, authorizationUrl, insecure, openidConfig, pushedUrl,
  redeemCode, startInteropDemo, startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const INVOICES = 'urn:tessera:api:invoices';
const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

// RFC 9126 §2.2: 201, request_uri with the URN prefix, expires_in 60, not cached.
async function assertPushed(response) {
  assert.equal(response.status, 201, await response.clone().text());
  assert.match(response.headers.get('cache-control') ?? '', /no-store/);
  const raw = await response.clone().json();
  assert.ok(raw.request_uri.startsWith(REQUEST_URI_PREFIX), raw.request_uri);
  assert.ok(raw.request_uri.length > REQUEST_URI_PREFIX.length + 20, raw.request_uri);
  assert.equal(raw.expires_in, 60);
  return raw;
}

// An error told to the user on a page: no redirect (RFC 6749 §4.1.2.1).
function assertErrorPage(page) {
  assert.equal(page.status, 400, page.text.slice(0, 300));
  assert.equal(page.response.headers.get('location'), null);
  assert.match(page.response.headers.get('content-type'), /text\/html/);
}

// An error sent to the client's redirect URI with state and iss; oauth4webapi reads it as such.
function assertRedirectError(as, c, page, state, error) {
  assert.equal(page.status, 303, `expected a redirect with ${error}, got ${page.status}: ${page.text.slice(0, 300)}`);
  const location = new URL(page.response.headers.get('location'));
  assert.equal(location.origin + location.pathname, c.redirect_uris[0]);
  assert.equal(location.searchParams.get('error'), error, location.href);
  assert.equal(location.searchParams.get('state'), state);
  assert.equal(location.searchParams.get('iss'), as.issuer);
  assert.equal(location.searchParams.get('code'), null);
  assert.throws(() => oauth.validateAuthResponse(as, { client_id: c.client_id }, location, state),
    (e) => e instanceof oauth.AuthorizationResponseError && e.error === error);
}

// A 400 or 401 JSON error of the PAR endpoint (RFC 9126 §2.3), refused by oauth4webapi too: a
// 400 as the body's error, a 401 as its WWW-Authenticate challenge (RFC 6749 §5.2).
async function assertParError(as, c, response, status, error) {
  assert.equal(response.status, status, await response.clone().text());
  assert.equal(response.headers.get('location'), null);
  assert.match(response.headers.get('content-type'), /application\/json/);
  const body = await response.clone().json();
  assert.equal(body.error, error);
  assert.equal(body.request_uri, undefined);
  await assert.rejects(oauth.processPushedAuthorizationResponse(as, c, response), (e) =>
    e.status === status && (status === 401
      ? e instanceof oauth.WWWAuthenticateChallengeError
      : e instanceof oauth.ResponseBodyError && e.error === error));
}

// --- Against `tessera demo` ------------------------------------------------------------------

describe('tessera demo', () => {
  let ready;
  let dir;
  let as;
  let spa;  // the demo's public client
  let web;  // a confidential client (client_secret_basic)
  let parOnly;  // a public client registered with --require-pushed-authorization-requests

  const demo = startInteropDemo('tessera-par-', async () => {
    ({ ready, dir, as } = demo);
    spa = ready.clients.spa;
    // Registered while the demo runs: unknown client ids are not cached (client_cli.test.mjs).
    web = JSON.parse(ok(['client', 'create', '--id', 'par-web', '--type', 'confidential',
      '--grant-type', 'authorization_code', '--grant-type', 'refresh_token',
      '--redirect-uri', `${ready.issuer}/par-web/cb`, '--scope', 'openid profile offline_access invoices:read',
      '--audience', INVOICES, '--skip-consent', '--json', '--data-dir', dir]));
    parOnly = JSON.parse(ok(['client', 'create', '--id', 'par-only', '--type', 'public',
      '--redirect-uri', `${ready.issuer}/par-only/cb`, '--scope', 'openid profile',
      '--skip-consent', '--require-pushed-authorization-requests', '--json', '--data-dir', dir]));
    assert.equal(parOnly.require_pushed_authorization_requests, true);
    assert.equal(web.require_pushed_authorization_requests, false);
  });

  const webClient = () => ({ client_id: web.client_id });
  const webAuth = () => oauth.ClientSecretBasic(web.client_secret);

  // oauth4webapi pushes `a.params` for `c` (with `auth`, default none) and returns the parsed
  // 201 answer.
  async function push(c, a, auth = oauth.None(), options = {}) {
    const response = await oauth.pushedAuthorizationRequest(as, { client_id: c.client_id }, auth,
      a.params, { ...insecure, ...options });
    await assertPushed(response);
    return oauth.processPushedAuthorizationResponse(as, { client_id: c.client_id }, response);
  }

  test('discovery: pushed_authorization_request_endpoint and require_pushed_authorization_requests (RFC 9126 §5)', () => {
    assert.equal(as.pushed_authorization_request_endpoint, `${ready.issuer}/par`);
    assert.equal(as.require_pushed_authorization_requests, false);
    assert.equal(demo.metadata.pushed_authorization_request_endpoint, `${ready.issuer}/par`);
    assert.equal(demo.metadata.require_pushed_authorization_requests, false);
  });

  test('oauth4webapi: a confidential client pushes (client_secret_basic), alice signs in, the code is redeemed', async () => {
    const a = await authorizationRequest(web, { scope: 'openid profile offline_access invoices:read' });
    const pushed = await push(web, a, webAuth());
    assert.equal(pushed.expires_in, 60);
    const url = pushedUrl(as, web.client_id, pushed.request_uri);
    const r = await signIn(url.href, ready.users.alice, { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    assert.equal(r.location.origin + r.location.pathname, web.redirect_uris[0]);
    const result = await redeemCode(as, web, a, r.location);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'openid profile offline_access invoices:read');
    assert.ok(result.refresh_token);
    assert.equal(oauth.getValidatedIdTokenClaims(result).nonce, a.nonce);
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.client_id, web.client_id);
    assert.deepEqual([claims.aud].flat(), [INVOICES]);
  });

  test('oauth4webapi: a public client pushes with a DPoP proof; the code needs that key (RFC 9449 §10.1)', async () => {
    const spaClient = { client_id: spa.client_id };
    const keyPair = await oauth.generateKeyPair('ES256');
    const otherPair = await oauth.generateKeyPair('ES256');
    const code = async () => {
      const a = await authorizationRequest(spa, { scope: 'openid' });
      const pushed = await push(spa, a, oauth.None(), { DPoP: oauth.DPoP(spaClient, keyPair) });
      const r = await signIn(pushedUrl(as, spa.client_id, pushed.request_uri).href,
        ready.users.alice, { jar: new CookieJar() });
      assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
      return { a, params: oauth.validateAuthResponse(as, spaClient, r.location, a.state) };
    };
    // Another key: invalid_grant.
    const first = await code();
    const refused = await oauth.authorizationCodeGrantRequest(as, spaClient, oauth.None(),
      first.params, spa.redirect_uris[0], first.a.verifier,
      { DPoP: oauth.DPoP(spaClient, otherPair), ...insecure });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error, 'invalid_grant');
    // The pushing key: a DPoP-bound token.
    const second = await code();
    const response = await oauth.authorizationCodeGrantRequest(as, spaClient, oauth.None(),
      second.params, spa.redirect_uris[0], second.a.verifier,
      { DPoP: oauth.DPoP(spaClient, keyPair), ...insecure });
    const result = await oauth.processAuthorizationCodeResponse(as, spaClient, response,
      { expectedNonce: second.a.nonce, requireIdToken: true });
    assert.equal(result.token_type, 'dpop');
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.cnf?.jkt, await jose.calculateJwkThumbprint(
      await jose.exportJWK(keyPair.publicKey), 'sha256'));
  });

  test('openid-client: buildAuthorizationUrlWithPAR, sign-in and authorizationCodeGrant', async () => {
    const config = await openidConfig(demo, spa);
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = await client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: spa.redirect_uris[0],
      scope: 'openid profile',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    // §4: the browser carries client_id and request_uri, nothing of the request itself.
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.equal(url.searchParams.get('client_id'), spa.client_id);
    assert.ok(url.searchParams.get('request_uri').startsWith(REQUEST_URI_PREFIX));
    const r = await signIn(url.href, ready.users.alice, { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    const tokens = await client.authorizationCodeGrant(config, r.location,
      { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
    assert.equal(tokens.token_type.toLowerCase(), 'bearer');
    assert.equal(tokens.scope, 'openid profile');
    assert.equal(tokens.claims().nonce, nonce);
    const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
    assert.equal(info.preferred_username, 'alice');
  });

  test('openid-client: a push the server refuses surfaces as the RFC 9126 §2.3 error', async () => {
    const config = await openidConfig(demo, spa);
    await assert.rejects(client.buildAuthorizationUrlWithPAR(config, {
      redirect_uri: 'https://evil.example/cb', scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }), (e) => e.error === 'invalid_request' && e.status === 400);
  });

  test('the request_uri is used once: replayed, it gets a 400 page, not a redirect (RFC 9126 §4)', async () => {
    const a = await authorizationRequest(web);
    const pushed = await push(web, a, webAuth());
    const url = pushedUrl(as, web.client_id, pushed.request_uri);
    const jar = new CookieJar();
    const r = await signIn(url.href, ready.users.alice, { jar });
    assert.ok(r.location?.searchParams.get('code'), `no code: ${r.location ?? r.page?.status}`);
    // The same browser, signed in, visits the same URL again.
    assertErrorPage(await visit(jar, url.href));
    assertErrorPage(await visit(new CookieJar(), url.href));
  });

  test("another client's request_uri gets a 400 page and stays usable by its own client", async () => {
    const a = await authorizationRequest(web);
    const pushed = await push(web, a, webAuth());
    assertErrorPage(await visit(new CookieJar(), pushedUrl(as, spa.client_id, pushed.request_uri).href));
    assertErrorPage(await visit(new CookieJar(), pushedUrl(as, parOnly.client_id, pushed.request_uri).href));
    const r = await signIn(pushedUrl(as, web.client_id, pushed.request_uri).href, ready.users.alice,
      { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    const params = oauth.validateAuthResponse(as, webClient(), r.location, a.state);
    assert.ok(params.get('code'));
  });

  test('query parameters beside request_uri are ignored (RFC 9126 §4)', async () => {
    const a = await authorizationRequest(web, { scope: 'openid' });
    const pushed = await push(web, a, webAuth());
    const url = pushedUrl(as, web.client_id, pushed.request_uri);
    url.searchParams.set('scope', 'openid profile offline_access invoices:read');
    url.searchParams.set('state', 'from-the-query');
    url.searchParams.set('redirect_uri', 'https://evil.example/cb');
    const r = await signIn(url.href, ready.users.alice, { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    assert.equal(r.location.origin + r.location.pathname, web.redirect_uris[0]);
    const result = await redeemCode(as, web, a, r.location);
    // The pushed scope, not the query's.
    assert.equal(result.scope, 'openid');
    assert.equal((await accessTokenClaims(as, result.access_token)).scope, 'openid');
  });

  test('a client registered with --require-pushed-authorization-requests: a plain request gets error=invalid_request (RFC 9126 §6)', async () => {
    const a = await authorizationRequest(parOnly);
    // The refusal comes before any sign-in: a fresh browser is enough.
    assertRedirectError(as, parOnly,
      await visit(new CookieJar(), authorizationUrl(as, parOnly.client_id, a.params).href),
      a.state, 'invalid_request');
    // Pushed, the same request goes through.
    const pushed = await push(parOnly, a);
    const r = await signIn(pushedUrl(as, parOnly.client_id, pushed.request_uri).href,
      ready.users.alice, { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    const result = await redeemCode(as, parOnly, a, r.location);
    assert.ok(result.access_token);
  });

  test('update --no-require-pushed-authorization-requests lets plain requests through again', async () => {
    ok(['client', 'create', '--id', 'par-toggle', '--type', 'public',
      '--redirect-uri', `${ready.issuer}/par-toggle/cb`, '--scope', 'openid', '--skip-consent',
      '--require-pushed-authorization-requests', '--json', '--data-dir', dir]);
    const toggled = JSON.parse(ok(['client', 'update', 'par-toggle',
      '--no-require-pushed-authorization-requests', '--json', '--data-dir', dir]));
    assert.equal(toggled.require_pushed_authorization_requests, false);
    // Never looked up before: the server reads the updated registration.
    const a = await authorizationRequest(toggled, { scope: 'openid' });
    const r = await signIn(authorizationUrl(as, toggled.client_id, a.params).href,
      ready.users.alice, { jar: new CookieJar() });
    assert.ok(r.location?.searchParams.get('code'), `no code: ${r.location ?? r.page?.status}`);
  });

  test('PAR endpoint errors are JSON: bad redirect_uri, no PKCE, bad scope (RFC 9126 §2.3)', async () => {
    const cases = [
      [{ redirect_uri: 'https://evil.example/cb' }, 'invalid_request'],
      [{ code_challenge: undefined, code_challenge_method: undefined }, 'invalid_request'],
      [{ scope: 'openid fga:admin' }, 'invalid_scope'],
    ];
    for (const [extra, error] of cases) {
      const a = await authorizationRequest(web, extra);
      const response = await oauth.pushedAuthorizationRequest(as, webClient(), webAuth(), a.params, insecure);
      await assertParError(as, webClient(), response, 400, error);
    }
  });

  test('PAR endpoint: wrong secret is 401 invalid_client; request_uri or another client_id is invalid_request', async () => {
    const a = await authorizationRequest(web);
    const wrong = await oauth.pushedAuthorizationRequest(as, webClient(),
      oauth.ClientSecretBasic('not-the-secret'), a.params, insecure);
    await assertParError(as, webClient(), wrong, 401, 'invalid_client');

    const earlier = await push(web, await authorizationRequest(web), webAuth());
    const withUri = await form(as.pushed_authorization_request_endpoint,
      { ...a.params, request_uri: earlier.request_uri }, basic(web.client_id, web.client_secret));
    assert.equal(withUri.status, 400, withUri.text);
    assert.equal(withUri.body.error, 'invalid_request');
    assert.equal(withUri.body.request_uri, undefined);

    const otherId = await form(as.pushed_authorization_request_endpoint,
      { ...a.params, client_id: spa.client_id }, basic(web.client_id, web.client_secret));
    assert.equal(otherId.status, 400, otherId.text);
    assert.equal(otherId.body.error, 'invalid_request');
  });
});

// --- Against `tessera serve` with as.require_pushed_authorization_requests -------------------

describe('tessera serve with as.require_pushed_authorization_requests', () => {
  let as;
  const env = startInteropServe('tessera-par-required-', {
    asExtra: ['require_pushed_authorization_requests: true'],
    clients: (issuer) => ({
      app: ['--id', 'app', '--type', 'public', '--redirect-uri', `${issuer}/cb`,
        '--scope', 'openid profile', '--skip-consent'],
    }),
    user: 'carol',
  }, (serve) => {
    as = serve.as;
  });

  test('discovery says PAR is required (RFC 9126 §5)', () => {
    assert.equal(as.require_pushed_authorization_requests, true);
    assert.equal(as.pushed_authorization_request_endpoint, `${env.issuer}/par`);
  });

  test('a plain request of a client not flagged itself gets error=invalid_request; pushed, it signs in', async () => {
    const a = await authorizationRequest(env.app);
    assertRedirectError(as, env.app,
      await visit(new CookieJar(), authorizationUrl(as, env.app.client_id, a.params).href),
      a.state, 'invalid_request');
    const c = { client_id: env.app.client_id };
    const response = await oauth.pushedAuthorizationRequest(as, c, oauth.None(), a.params, insecure);
    await assertPushed(response);
    const pushed = await oauth.processPushedAuthorizationResponse(as, c, response);
    const r = await signIn(pushedUrl(as, c.client_id, pushed.request_uri).href, env.user,
      { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    const tokens = await redeemCode(as, env.app, a, r.location);
    assert.ok(tokens.access_token);
  });
});
