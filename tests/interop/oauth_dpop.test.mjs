// DPoP (RFC 9449) at Tessera's token endpoint and UserInfo with real, unmodified client
// libraries (oauth4webapi 3, openid-client 6; thumbprints and access tokens checked with jose):
// DPoP-bound access tokens of the client credentials and code flows (token_type DPoP, cnf.jkt =
// RFC 7638 thumbprint of the proof's key), proofs that must be refused (invalid_dpop_proof),
// dpop_bound_access_tokens clients (§5.2), public clients' refresh tokens bound to the key (§5),
// dpop_jkt at /authorize (§10), UserInfo under the DPoP scheme (§7) and server nonces (§8, §9)
// on a `tessera serve` with as.dpop_nonce_seconds. The user's side of the code flow (login and
// consent pages) is walked over plain HTTP by tests/lib/login.mjs. The only relaxation is
// allowInsecureRequests: the servers speak plain http on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN, ok } from '../lib/tessera.mjs';
import { CookieJar, signIn } from '../lib/login.mjs';
import { basic, form } from '../lib/demo.mjs';
import {
  accessTokenClaims, authorizationRequest, authorizationUrl, insecure, openidConfig,
  startInteropDemo, startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const INVOICES = 'urn:tessera:api:invoices';

// oauth4webapi's documented option for servers that know Ed25519 proofs as alg EdDSA.
const remapEd25519 = {
  [oauth.modifyAssertion]: (header) => {
    if (header.alg === 'Ed25519') header.alg = 'EdDSA';
  },
};

// --- Helpers shared by both servers ---------------------------------------------------------

// RFC 7638 SHA-256 thumbprint of a key pair's public key, computed by jose.
async function thumbprint(keyPair) {
  return jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey), 'sha256');
}

// A DPoP proof made by hand (RFC 9449 §4.2), for proofs no library would send. `claims` adds
// or, with undefined, removes claims; `header` likewise for the JOSE header.
async function handProof(keyPair, { htu, htm = 'POST', claims = {}, header = {}, alg = 'ES256' }) {
  const protectedHeader = { alg, typ: 'dpop+jwt', jwk: await jose.exportJWK(keyPair.publicKey), ...header };
  const payload = { jti: randomBytes(16).toString('base64url'), htm, htu, iat: Math.floor(Date.now() / 1000), ...claims };
  for (const o of [protectedHeader, payload]) {
    for (const [k, v] of Object.entries(o)) if (v === undefined) delete o[k];
  }
  return new jose.SignJWT(payload).setProtectedHeader(protectedHeader).sign(keyPair.privateKey);
}

// RFC 9449 §4.3 item 12 ath: base64url SHA-256 of the access token.
async function ath(accessToken) {
  return Buffer.from(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(accessToken)))
    .toString('base64url');
}

// The body of a 400 from the token endpoint: RFC 6749 §5.2 JSON with `error`.
function assertTokenError(r, status, error, what = '') {
  assert.equal(r.status, status, `${what}: ${r.text}`);
  assert.equal(r.body?.error, error, `${what}: ${r.text}`);
  assert.equal(r.body?.access_token, undefined, what);
}

// A code + PKCE authorization request for public client `c`, signed in as `user`, redeemed with
// oauth4webapi (optionally with a DPoP handle; a use_dpop_nonce answer is retried once, as
// oauth4webapi's documentation shows). `dpopJkt` binds the code (RFC 9449 §10). Returns the
// processed token response and the raw redemption responses.
async function codeFlow(as, c, user, { DPoP, dpopJkt, scope = 'openid profile offline_access', redeem = true } = {}) {
  const { params: query, verifier, state, nonce } =
    await authorizationRequest(c, { scope, dpop_jkt: dpopJkt });
  const r = await signIn(authorizationUrl(as, c.client_id, query).href, user, { jar: new CookieJar() });
  assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
  const cc = { client_id: c.client_id };
  const params = oauth.validateAuthResponse(as, cc, r.location, state);
  const code = params.get('code');
  if (!redeem) return { code, verifier };
  const responses = [];
  const attempt = async () => {
    const response = await oauth.authorizationCodeGrantRequest(as, cc, oauth.None(), params,
      c.redirect_uris[0], verifier, { DPoP, ...insecure });
    responses.push(response.clone());
    return oauth.processAuthorizationCodeResponse(as, cc, response,
      { expectedNonce: nonce, requireIdToken: scope.split(' ').includes('openid') });
  };
  let result;
  try {
    result = await attempt();
  } catch (e) {
    if (!oauth.isDPoPNonceError(e)) throw e;
    result = await attempt();
  }
  return { result, responses, code, verifier };
}

// --- Against `tessera demo` (no server nonces) ----------------------------------------------

describe('tessera demo', () => {
  let ready;
  let dir;
  let as;
  let svc;
  let svcClient;
  let svcAuth;
  let spa;
  let spaClient;
  let dpopOnly;  // a confidential client registered with --dpop-bound-access-tokens

  const demo = startInteropDemo('tessera-dpop-', async () => {
    ({ ready, dir, as } = demo);
    svc = ready.clients.service;
    svcClient = { client_id: svc.client_id };
    svcAuth = () => oauth.ClientSecretBasic(svc.client_secret);
    spa = ready.clients.spa;
    spaClient = { client_id: spa.client_id };
    // Registered while the demo runs: unknown client ids are not cached (client_cli.test.mjs).
    dpopOnly = JSON.parse(ok(['client', 'create', '--id', 'dpop-only',
      '--grant-type', 'client_credentials', '--scope', 'invoices:read', '--audience', INVOICES,
      '--dpop-bound-access-tokens', '--json', '--data-dir', dir]));
  });

  const tokenPost = (body, headers = {}) => form(as.token_endpoint, body, headers);
  const svcPost = (dpop, body = { grant_type: 'client_credentials', scope: 'invoices:read' }) =>
    tokenPost(body, { ...basic(svc.client_id, svc.client_secret), ...(dpop ? { dpop } : {}) });

  test('discovery: dpop_signing_alg_values_supported lists asymmetric algorithms only (RFC 9449 §5.1)', async () => {
    const algs = as.dpop_signing_alg_values_supported;
    assert.ok(Array.isArray(algs) && algs.length > 0, String(algs));
    for (const alg of ['ES256', 'PS256', 'RS256', 'EdDSA']) assert.ok(algs.includes(alg), `${alg} in ${algs}`);
    for (const alg of algs) assert.ok(!/^HS|^none$/i.test(alg), `${alg} is not asymmetric`);
    assert.deepEqual(demo.metadata.dpop_signing_alg_values_supported, algs);
  });

  test('oauth4webapi: client credentials with DPoP (ES256): token_type DPoP, cnf.jkt = RFC 7638 thumbprint (RFC 9449 §5, §6.1)', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(svcClient, keyPair);
    const response = await oauth.clientCredentialsGrantRequest(as, svcClient, svcAuth(),
      { scope: 'invoices:read' }, { DPoP, ...insecure });
    assert.equal(response.status, 200);
    const raw = await response.clone().json();
    assert.equal(raw.token_type, 'DPoP', 'RFC 9449 §5: token_type DPoP in the token response');
    // No server nonces on the demo: no DPoP-Nonce field.
    assert.equal(response.headers.get('dpop-nonce'), null);
    const result = await oauth.processClientCredentialsResponse(as, svcClient, response);
    assert.equal(result.token_type, 'dpop');  // oauth4webapi lowercases it
    assert.equal(result.scope, 'invoices:read');
    const claims = await accessTokenClaims(as, result.access_token);
    const jkt = await thumbprint(keyPair);
    assert.equal(claims.cnf?.jkt, jkt);
    assert.equal(jkt, await DPoP.calculateThumbprint());
    assert.equal(claims.client_id, svc.client_id);
    // The same binding seen through introspection (RFC 9449 §6.2).
    const intro = await form(as.introspection_endpoint, { token: result.access_token },
      basic(svc.client_id, svc.client_secret));
    assert.equal(intro.status, 200, intro.text);
    assert.equal(intro.body.active, true);
    assert.equal(intro.body.cnf?.jkt, jkt);
  });

  test('oauth4webapi: every advertised dpop_signing_alg_values_supported algorithm binds the token to its key', async () => {
    for (const alg of as.dpop_signing_alg_values_supported) {
      const keyPair = await oauth.generateKeyPair(alg);
      // oauth4webapi names an Ed25519 proof's alg "Ed25519" (fully specified, RFC 9864); the
      // server advertises "EdDSA", so the proof says EdDSA, as oauth4webapi's docs show.
      const DPoP = oauth.DPoP(svcClient, keyPair, alg === 'EdDSA' ? remapEd25519 : undefined);
      const response = await oauth.clientCredentialsGrantRequest(as, svcClient, svcAuth(),
        { scope: 'invoices:read' }, { DPoP, ...insecure });
      assert.equal(response.status, 200, `${alg}: ${await response.clone().text()}`);
      const result = await oauth.processClientCredentialsResponse(as, svcClient, response);
      assert.equal(result.token_type, 'dpop', alg);
      const claims = await accessTokenClaims(as, result.access_token);
      assert.equal(claims.cnf?.jkt, await thumbprint(keyPair), alg);
    }
  });

  test('openid-client: clientCredentialsGrant with a DPoP handle: token_type DPoP, cnf.jkt matches', async () => {
    const config = await openidConfig(demo, svc);
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const DPoP = client.getDPoPHandle(config, keyPair);
    const tokens = await client.clientCredentialsGrant(config, { scope: 'invoices:read' }, { DPoP });
    assert.equal(tokens.token_type, 'dpop');
    assert.equal(tokens.scope, 'invoices:read');
    const claims = await accessTokenClaims(as, tokens.access_token);
    assert.equal(claims.cnf?.jkt, await thumbprint(keyPair));
    assert.equal(claims.cnf?.jkt, await DPoP.calculateThumbprint());
    // Without the handle, the same client still gets a plain Bearer token, unbound.
    const plain = await client.clientCredentialsGrant(config, { scope: 'invoices:read' });
    assert.equal(plain.token_type, 'bearer');
    assert.equal((await accessTokenClaims(as, plain.access_token)).cnf, undefined);
  });

  test('hand-made bad proofs at the token endpoint: 400 invalid_dpop_proof, no token (RFC 9449 §4.3, §5)', async () => {
    const keyPair = await jose.generateKeyPair('ES256', { extractable: true });
    const other = await jose.generateKeyPair('ES256', { extractable: true });
    const htu = as.token_endpoint;
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const jwk = await jose.exportJWK(keyPair.publicKey);
    const hmacKey = randomBytes(32);
    const cases = {
      'wrong htu (another endpoint)': await handProof(keyPair, { htu: as.issuer + '/authorize' }),
      'wrong htu (another host for the same server)': await handProof(keyPair, { htu: htu.replace('127.0.0.1', 'localhost') }),
      'wrong htm': await handProof(keyPair, { htu, htm: 'GET' }),
      'typ JWT': await handProof(keyPair, { htu, header: { typ: 'JWT' } }),
      'no typ': await handProof(keyPair, { htu, header: { typ: undefined } }),
      'no jwk': await handProof(keyPair, { htu, header: { jwk: undefined } }),
      'jwk holds the private key': await handProof(keyPair, { htu, header: { jwk: await jose.exportJWK(keyPair.privateKey) } }),
      'signed by another key than its jwk': await handProof(other, { htu, header: { jwk } }),
      'no jti': await handProof(keyPair, { htu, claims: { jti: undefined } }),
      'no iat': await handProof(keyPair, { htu, claims: { iat: undefined } }),
      'iat an hour old': await handProof(keyPair, { htu, claims: { iat: now - 3600 } }),
      'iat an hour ahead': await handProof(keyPair, { htu, claims: { iat: now + 3600 } }),
      'alg none': `${b64({ alg: 'none', typ: 'dpop+jwt', jwk })}.${b64({ jti: 'n1', htm: 'POST', htu, iat: now })}.`,
      'alg HS256 with an oct jwk': await new jose.SignJWT({ jti: 'h1', htm: 'POST', htu, iat: now })
        .setProtectedHeader({ alg: 'HS256', typ: 'dpop+jwt', jwk: { kty: 'oct', k: hmacKey.toString('base64url') } })
        .sign(hmacKey),
      'not a JWS': 'garbage',
    };
    for (const [what, dpop] of Object.entries(cases)) {
      const r = await svcPost(dpop);
      assertTokenError(r, 400, 'invalid_dpop_proof', what);
      assert.equal(r.headers.get('dpop-nonce'), null, what);
    }

    // Two DPoP fields in one request (RFC 9449 §4.3 item 1), sent with node:http so the fields
    // stay apart.
    const a = await handProof(keyPair, { htu });
    const b = await handProof(keyPair, { htu });
    const two = await rawPost(htu, [
      'Content-Type', 'application/x-www-form-urlencoded',
      'Authorization', basic(svc.client_id, svc.client_secret).authorization,
      'DPoP', a, 'DPoP', b,
    ], 'grant_type=client_credentials&scope=invoices:read');
    assert.equal(two.status, 400, two.text);
    assert.equal(JSON.parse(two.text).error, 'invalid_dpop_proof', two.text);
  });

  test('a replayed proof is refused: 400 invalid_dpop_proof (RFC 9449 §11.1)', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const proof = await handProof(keyPair, { htu: as.token_endpoint });
    const first = await svcPost(proof);
    assert.equal(first.status, 200, first.text);
    assert.equal(first.body.token_type, 'DPoP');
    assert.equal((await accessTokenClaims(as, first.body.access_token)).cnf?.jkt, await thumbprint(keyPair));
    const again = await svcPost(proof);
    assertTokenError(again, 400, 'invalid_dpop_proof');
    // The same key with a fresh proof is fine: only the jti is spent.
    const fresh = await svcPost(await handProof(keyPair, { htu: as.token_endpoint }));
    assert.equal(fresh.status, 200, fresh.text);
  });

  test('a dpop_bound_access_tokens client: no proof -> 400 invalid_dpop_proof; with a proof -> DPoP token (RFC 9449 §5.2)', async () => {
    assert.equal(dpopOnly.dpop_bound_access_tokens, true);
    const c = { client_id: dpopOnly.client_id };
    const auth = () => oauth.ClientSecretBasic(dpopOnly.client_secret);
    await assert.rejects(async () => {
      const response = await oauth.clientCredentialsGrantRequest(as, c, auth(),
        { scope: 'invoices:read' }, insecure);
      await oauth.processClientCredentialsResponse(as, c, response);
    }, (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === 'invalid_dpop_proof');
    const raw = await tokenPost({ grant_type: 'client_credentials', scope: 'invoices:read' },
      basic(dpopOnly.client_id, dpopOnly.client_secret));
    assertTokenError(raw, 400, 'invalid_dpop_proof');

    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const response = await oauth.clientCredentialsGrantRequest(as, c, auth(),
      { scope: 'invoices:read' }, { DPoP, ...insecure });
    const result = await oauth.processClientCredentialsResponse(as, c, response);
    assert.equal(result.token_type, 'dpop');
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.cnf?.jkt, await thumbprint(keyPair));
    assert.equal(claims.client_id, 'dpop-only');

    // A wrong secret is still invalid_client, proof or not: the client is authenticated first.
    const wrong = await tokenPost({ grant_type: 'client_credentials' }, basic(dpopOnly.client_id, 'nope'));
    assertTokenError(wrong, 401, 'invalid_client');
  });

  test('UserInfo with the DPoP scheme and a proof: 200; the same bound token as Bearer: 401 (RFC 9449 §7.1, §7.2)', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(spaClient, keyPair);
    const { result, responses } = await codeFlow(as, spa, ready.users.alice, { DPoP });
    assert.equal(responses.at(-1).status, 200);
    assert.equal((await responses.at(-1).json()).token_type, 'DPoP');
    assert.equal(result.token_type, 'dpop');
    assert.ok(result.scope.split(' ').includes('openid'), result.scope);
    const sub = oauth.getValidatedIdTokenClaims(result).sub;
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.cnf?.jkt, await thumbprint(keyPair));
    assert.equal(claims.sub, sub);

    // oauth4webapi: Authorization: DPoP with a proof carrying ath.
    const info = await oauth.processUserInfoResponse(as, spaClient, sub,
      await oauth.userInfoRequest(as, spaClient, result.access_token, { DPoP, ...insecure }));
    assert.equal(info.sub, sub);
    assert.equal(info.preferred_username, ready.users.alice.username);

    // openid-client: the same, with its DPoP option.
    const config = await openidConfig(demo, spa);
    const viaClient = await client.fetchUserInfo(config, result.access_token, sub,
      { DPoP: client.getDPoPHandle(config, keyPair) });
    assert.equal(viaClient.sub, sub);

    // The bound token as Bearer (oauth4webapi without the handle): 401.
    const asBearer = await oauth.userInfoRequest(as, spaClient, result.access_token, insecure);
    assert.equal(asBearer.status, 401);
    assert.match(asBearer.headers.get('www-authenticate') ?? '', /invalid_token/);
    await assert.rejects(oauth.processUserInfoResponse(as, spaClient, sub, asBearer),
      (e) => e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401);
    const rawBearer = await fetch(as.userinfo_endpoint,
      { headers: { authorization: `Bearer ${result.access_token}` } });
    assert.equal(rawBearer.status, 401);

    // The DPoP scheme with a proof of another key, without a proof, without ath, or for another
    // URL: 401 too.
    const otherKey = await oauth.generateKeyPair('ES256');
    const at = result.access_token;
    const variants = {
      'proof of another key': await handProof(otherKey, { htu: as.userinfo_endpoint, htm: 'GET', claims: { ath: await ath(at) } }),
      'no ath': await handProof(keyPair, { htu: as.userinfo_endpoint, htm: 'GET' }),
      'htu of the token endpoint': await handProof(keyPair, { htu: as.token_endpoint, htm: 'GET', claims: { ath: await ath(at) } }),
      'no proof': undefined,
    };
    for (const [what, dpop] of Object.entries(variants)) {
      const r = await fetch(as.userinfo_endpoint,
        { headers: { authorization: `DPoP ${at}`, ...(dpop ? { dpop } : {}) } });
      assert.equal(r.status, 401, what);
      assert.match(r.headers.get('www-authenticate') ?? '', /^DPoP /, what);
    }
    // And a correct hand-made proof works (GET, htu, ath).
    const good = await fetch(as.userinfo_endpoint, { headers: {
      authorization: `DPoP ${at}`,
      dpop: await handProof(keyPair, { htu: as.userinfo_endpoint, htm: 'GET', claims: { ath: await ath(at) } }),
    } });
    assert.equal(good.status, 200, await good.clone().text());
    assert.equal((await good.json()).sub, sub);
  });

  test('UserInfo: an unbound Bearer token under the DPoP scheme is refused (401); as Bearer it works', async () => {
    const { result } = await codeFlow(as, spa, ready.users.alice);
    assert.equal(result.token_type, 'bearer');
    const sub = oauth.getValidatedIdTokenClaims(result).sub;
    const keyPair = await oauth.generateKeyPair('ES256');
    const asDpop = await oauth.userInfoRequest(as, spaClient, result.access_token,
      { DPoP: oauth.DPoP(spaClient, keyPair), ...insecure });
    assert.equal(asDpop.status, 401);
    const info = await oauth.processUserInfoResponse(as, spaClient, sub,
      await oauth.userInfoRequest(as, spaClient, result.access_token, insecure));
    assert.equal(info.sub, sub);
  });

  test("a public client's refresh token is bound to its DPoP key: same key refreshes, another key or none gets 400 invalid_grant (RFC 9449 §5)", async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(spaClient, keyPair);
    const jkt = await thumbprint(keyPair);
    const { result: first } = await codeFlow(as, spa, ready.users.alice, { DPoP });
    assert.ok(first.refresh_token);
    const refreshWith = (refreshToken, handle) =>
      oauth.refreshTokenGrantRequest(as, spaClient, oauth.None(), refreshToken,
        { DPoP: handle, ...insecure });

    // The same handle (oauth4webapi): a new DPoP token bound to the same key, and a new refresh
    // token.
    const second = await oauth.processRefreshTokenResponse(as, spaClient, await refreshWith(first.refresh_token, DPoP));
    assert.equal(second.token_type, 'dpop');
    assert.equal((await accessTokenClaims(as, second.access_token)).cnf?.jkt, jkt);
    assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token);

    // Another key, or no proof at all: invalid_grant.
    const otherKey = await oauth.generateKeyPair('ES256');
    const stolen = await refreshWith(second.refresh_token, oauth.DPoP(spaClient, otherKey));
    assert.equal(stolen.status, 400);
    assert.equal((await stolen.json()).error, 'invalid_grant');
    const bare = await form(as.token_endpoint,
      { grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: spa.client_id });
    assertTokenError(bare, 400, 'invalid_grant');
    await assert.rejects(
      async () => oauth.processRefreshTokenResponse(as, spaClient, await refreshWith(second.refresh_token, undefined)),
      (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === 'invalid_grant');

    // Those refusals did not spend the refresh token: the key's holder still refreshes, here
    // with openid-client and the same key pair.
    const config = await openidConfig(demo, spa);
    const third = await client.refreshTokenGrant(config, second.refresh_token, undefined,
      { DPoP: client.getDPoPHandle(config, keyPair) });
    assert.equal(third.token_type, 'dpop');
    assert.equal((await accessTokenClaims(as, third.access_token)).cnf?.jkt, jkt);
    assert.ok(third.refresh_token);
  });

  test('dpop_jkt at /authorize binds the code: redeemed only with a proof of that key (RFC 9449 §10)', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(spaClient, keyPair);
    const dpopJkt = await DPoP.calculateThumbprint();
    assert.equal(dpopJkt, await thumbprint(keyPair));
    const redeem = (code, verifier, dpop) => form(as.token_endpoint, {
      grant_type: 'authorization_code', code, code_verifier: verifier,
      redirect_uri: spa.redirect_uris[0], client_id: spa.client_id,
    }, dpop ? { dpop } : {});

    const otherKey = await oauth.generateKeyPair('ES256');
    const a = await codeFlow(as, spa, ready.users.alice, { dpopJkt, redeem: false });
    assertTokenError(await redeem(a.code, a.verifier, await handProof(otherKey, { htu: as.token_endpoint })),
      400, 'invalid_grant');
    const b = await codeFlow(as, spa, ready.users.alice, { dpopJkt, redeem: false });
    assertTokenError(await redeem(b.code, b.verifier), 400, 'invalid_grant');

    const { result } = await codeFlow(as, spa, ready.users.alice, { dpopJkt, DPoP });
    assert.equal(result.token_type, 'dpop');
    assert.equal((await accessTokenClaims(as, result.access_token)).cnf?.jkt, dpopJkt);

    // A malformed dpop_jkt is invalid_request at /authorize.
    const url = new URL(as.authorization_endpoint);
    for (const [k, v] of Object.entries({
      client_id: spa.client_id, redirect_uri: spa.redirect_uris[0], response_type: 'code',
      scope: 'openid', state: 's', code_challenge: await oauth.calculatePKCECodeChallenge(oauth.generateRandomCodeVerifier()),
      code_challenge_method: 'S256', dpop_jkt: 'not-a-thumbprint',
    })) url.searchParams.set(k, v);
    const r = await fetch(url, { redirect: 'manual' });
    assert.equal(r.status, 303);
    assert.equal(new URL(r.headers.get('location')).searchParams.get('error'), 'invalid_request');
  });
});

// Sends a POST with node:http, whose raw header array may repeat a field (node adds no Host to
// a raw array: it is given here).
function rawPost(url, headers, body) {
  return new Promise((resolve, reject) => {
    const raw = ['Host', new URL(url).host, ...headers, 'Content-Length', String(Buffer.byteLength(body))];
    const req = http.request(url, { method: 'POST', headers: raw }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

// --- Against `tessera serve` with server nonces (as.dpop_nonce_seconds) ---------------------

describe('tessera serve with as.dpop_nonce_seconds', () => {
  let as;
  const env = startInteropServe('tessera-dpop-nonce-', {
    asExtra: ['dpop_nonce_seconds: 300'],
    clients: (issuer) => ({
      svc: ['--id', 'nonce-svc', '--grant-type', 'client_credentials',
        '--scope', 'invoices:read', '--audience', INVOICES],
      app: ['--id', 'nonce-app', '--type', 'public', '--redirect-uri', `${issuer}/cb`,
        '--scope', 'openid profile offline_access', '--skip-consent'],
    }),
    user: 'carol',
  }, (serve) => {
    as = serve.as;
  });

  const svcHeaders = (dpop) => ({ ...basic(env.svc.client_id, env.svc.client_secret), ...(dpop ? { dpop } : {}) });
  const ccPost = (dpop) => form(as.token_endpoint,
    { grant_type: 'client_credentials', scope: 'invoices:read' }, svcHeaders(dpop));

  test('oauth4webapi: the first request gets use_dpop_nonce with DPoP-Nonce, the retry succeeds (RFC 9449 §8)', async () => {
    const c = { client_id: env.svc.client_id };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const request = () => oauth.clientCredentialsGrantRequest(as, c,
      oauth.ClientSecretBasic(env.svc.client_secret), { scope: 'invoices:read' }, { DPoP, ...insecure });

    let firstError;
    try {
      await oauth.processClientCredentialsResponse(as, c, await request());
    } catch (e) {
      firstError = e;
    }
    assert.ok(firstError, 'the first DPoP request without a nonce must be refused');
    assert.equal(oauth.isDPoPNonceError(firstError), true, String(firstError));
    assert.ok(firstError instanceof oauth.ResponseBodyError);
    assert.equal(firstError.status, 400);
    assert.equal(firstError.error, 'use_dpop_nonce');
    assert.match(firstError.response.headers.get('dpop-nonce') ?? '', /^[A-Za-z0-9_-]+$/);

    // oauth4webapi cached the nonce from that answer; the retry carries it.
    const response = await request();
    assert.equal(response.status, 200);
    const nonce = response.headers.get('dpop-nonce');
    assert.match(nonce ?? '', /^[A-Za-z0-9_-]+$/, 'RFC 9449 §8: successful DPoP answers carry DPoP-Nonce');
    const result = await oauth.processClientCredentialsResponse(as, c, response);
    assert.equal(result.token_type, 'dpop');
    assert.equal((await accessTokenClaims(as, result.access_token)).cnf?.jkt, await thumbprint(keyPair));

    // And the following request works at once, with the cached nonce.
    const next = await oauth.processClientCredentialsResponse(as, c, await request());
    assert.equal(next.token_type, 'dpop');
  });

  test('openid-client retries use_dpop_nonce by itself', async () => {
    const config = await client.discovery(new URL(env.issuer), env.svc.client_id,
      env.svc.client_secret, client.ClientSecretBasic(env.svc.client_secret),
      { execute: [client.allowInsecureRequests] });
    const keyPair = await client.randomDPoPKeyPair('ES256');
    const tokens = await client.clientCredentialsGrant(config, { scope: 'invoices:read' },
      { DPoP: client.getDPoPHandle(config, keyPair) });
    assert.equal(tokens.token_type, 'dpop');
    assert.equal((await accessTokenClaims(as, tokens.access_token)).cnf?.jkt, await thumbprint(keyPair));
  });

  test('hand-made proofs: no nonce or a made-up one -> 400 use_dpop_nonce + DPoP-Nonce; the given nonce -> 200', async () => {
    const keyPair = await oauth.generateKeyPair('ES256');
    const htu = as.token_endpoint;
    const none = await ccPost(await handProof(keyPair, { htu }));
    assertTokenError(none, 400, 'use_dpop_nonce');
    const nonce = none.headers.get('dpop-nonce');
    assert.match(nonce ?? '', /^[A-Za-z0-9_-]+$/);

    const madeUp = await ccPost(await handProof(keyPair, { htu, claims: { nonce: 'A'.repeat(32) } }));
    assertTokenError(madeUp, 400, 'use_dpop_nonce');
    assert.match(madeUp.headers.get('dpop-nonce') ?? '', /^[A-Za-z0-9_-]+$/);

    const good = await ccPost(await handProof(keyPair, { htu, claims: { nonce } }));
    assert.equal(good.status, 200, good.text);
    assert.equal(good.body.token_type, 'DPoP');
    assert.match(good.headers.get('dpop-nonce') ?? '', /^[A-Za-z0-9_-]+$/);
    assert.equal((await accessTokenClaims(as, good.body.access_token)).cnf?.jkt, await thumbprint(keyPair));

    // A bad proof that carries the nonce is still invalid_dpop_proof, not use_dpop_nonce.
    const wrongHtu = await ccPost(await handProof(keyPair, { htu: env.issuer + '/authorize', claims: { nonce } }));
    assertTokenError(wrongHtu, 400, 'invalid_dpop_proof');

    // Without DPoP at all nothing changes: a Bearer token, no nonce handed out.
    const bearer = await ccPost();
    assert.equal(bearer.status, 200, bearer.text);
    assert.equal(bearer.body.token_type, 'Bearer');
    assert.equal(bearer.headers.get('dpop-nonce'), null);
  });

  test('code flow and UserInfo with nonces: oauth4webapi retries at both; a proof without nonce at UserInfo -> 401 use_dpop_nonce (RFC 9449 §9)', async () => {
    const c = { client_id: env.app.client_id };
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const { result, responses } = await codeFlow(as, env.app, env.user, { DPoP });
    // A fresh handle has no nonce: use_dpop_nonce first, then the retry.
    assert.equal(responses.length, 2);
    assert.equal(responses[0].status, 400);
    assert.equal((await responses[0].json()).error, 'use_dpop_nonce');
    assert.equal(responses[1].status, 200);
    assert.equal(result.token_type, 'dpop');
    const sub = oauth.getValidatedIdTokenClaims(result).sub;
    assert.equal((await accessTokenClaims(as, result.access_token)).cnf?.jkt, await thumbprint(keyPair));

    // The handle's cached nonce (same origin) is accepted at UserInfo.
    const info = await oauth.processUserInfoResponse(as, c, sub,
      await oauth.userInfoRequest(as, c, result.access_token, { DPoP, ...insecure }));
    assert.equal(info.sub, sub);

    // A proof without a nonce at UserInfo: 401, WWW-Authenticate DPoP error="use_dpop_nonce",
    // DPoP-Nonce; oauth4webapi reads it as a nonce error.
    const at = result.access_token;
    const r = await fetch(as.userinfo_endpoint, { headers: {
      authorization: `DPoP ${at}`,
      dpop: await handProof(keyPair, { htu: as.userinfo_endpoint, htm: 'GET', claims: { ath: await ath(at) } }),
    } });
    assert.equal(r.status, 401, await r.clone().text());
    assert.match(r.headers.get('www-authenticate') ?? '', /^DPoP .*error="use_dpop_nonce"/);
    const nonce = r.headers.get('dpop-nonce');
    assert.match(nonce ?? '', /^[A-Za-z0-9_-]+$/);
    await assert.rejects(oauth.processUserInfoResponse(as, c, sub, r),
      (e) => oauth.isDPoPNonceError(e));
    const withNonce = await fetch(as.userinfo_endpoint, { headers: {
      authorization: `DPoP ${at}`,
      dpop: await handProof(keyPair, { htu: as.userinfo_endpoint, htm: 'GET', claims: { ath: await ath(at), nonce } }),
    } });
    assert.equal(withNonce.status, 200, await withNonce.clone().text());
    assert.equal((await withNonce.json()).sub, sub);

    // A new handle at UserInfo: the nonce error, then oauth4webapi's retry with the nonce it
    // cached from that answer.
    const fresh = oauth.DPoP(c, keyPair);
    const userInfo = async () => oauth.processUserInfoResponse(as, c, sub,
      await oauth.userInfoRequest(as, c, at, { DPoP: fresh, ...insecure }));
    await assert.rejects(userInfo(), (e) => oauth.isDPoPNonceError(e));
    assert.equal((await userInfo()).sub, sub);

    // The refresh token (public client) is bound too, nonce and all.
    const refreshed = await oauth.processRefreshTokenResponse(as, c,
      await oauth.refreshTokenGrantRequest(as, c, oauth.None(), result.refresh_token, { DPoP, ...insecure }));
    assert.equal(refreshed.token_type, 'dpop');
  });
});
