// What happens to the tokens of the authorization code flow after they are issued, against
// `tessera demo` with real, unmodified client libraries (openid-client 6, oauth4webapi 3, jose):
// refresh token rotation and reuse detection (RFC 9700 §4.14.2), including 50 concurrent uses of
// one refresh token; introspection (RFC 7662) in JSON and as a signed JWT (RFC 9701); revocation
// (RFC 7009). The only relaxation is allowInsecureRequests: the demo speaks plain http on
// 127.0.0.1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN, ok } from '../lib/tessera.mjs';
import { CookieJar, signIn } from '../lib/login.mjs';
import { basic, form } from '../lib/demo.mjs';
import {
  authorizationRequest, authorizationUrl, insecure, openidConfig, redeemCode, startInteropDemo,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const INVOICES = 'urn:tessera:api:invoices';

let ready;
let dir;
let as;
let spa;
let spaClient;
let svc;
let exchange;
let rs;  // a resource server client of another audience, registered at start-up
let web;  // a confidential client with opaque access tokens, registered at start-up

const demo = startInteropDemo('tessera-tokens-', async () => {
  ({ ready, dir, as } = demo);
  spa = ready.clients.spa;
  spaClient = { client_id: spa.client_id };
  svc = ready.clients.service;
  exchange = ready.clients.exchange;
  const create = (args) => JSON.parse(ok(['client', 'create', ...args, '--json', '--data-dir', dir]));
  rs = create(['--id', 'rs', '--grant-type', 'client_credentials', '--scope', 'ledger:read',
    '--audience', 'urn:tessera:api:ledger']);
  web = create(['--id', 'web', '--type', 'confidential', '--grant-type', 'authorization_code',
    '--grant-type', 'refresh_token', '--redirect-uri', ready.issuer + '/web/cb',
    '--scope', 'openid offline_access invoices:read', '--audience', INVOICES,
    '--access-token-format', 'opaque']);
});

const spaConfig = () => openidConfig(demo, spa);
const serviceConfig = () => openidConfig(demo, svc);

// Alice signs in (a new browser, so a new session and grant) and spa redeems the code with
// oauth4webapi: access token (RFC 9068 JWT), refresh token and ID token.
async function aliceTokens(scope = 'openid profile email offline_access invoices:read', c = spa) {
  const a = await authorizationRequest(c, { scope });
  const r = await signIn(authorizationUrl(as, c.client_id, a.params).href, ready.users.alice,
    { jar: new CookieJar() });
  assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
  const result = await redeemCode(as, c, a, r.location);
  assert.ok(result.refresh_token);
  return result;
}

const refresh = (refresh_token) =>
  form(as.token_endpoint, { grant_type: 'refresh_token', refresh_token, client_id: spa.client_id });

// RFC 7662 introspection by the service client (client_secret_basic), with oauth4webapi.
async function introspect(token, { caller = svc, auth = oauth.ClientSecretBasic, jwt = false } = {}) {
  const c = { client_id: caller.client_id };
  const response = await oauth.introspectionRequest(as, c, auth(caller.client_secret), token,
    { requestJwtResponse: jwt, ...insecure });
  return oauth.processIntrospectionResponse(as, c, response);
}

async function assertRefreshRefused(refreshToken, what) {
  const r = await refresh(refreshToken);
  assert.equal(r.status, 400, `${what}: ${r.text}`);
  assert.equal(r.body.error, 'invalid_grant', what);
}

// --- 8. Refresh rotation --------------------------------------------------------------------

test('openid-client: each refresh rotates; reusing a spent one revokes the whole family (RFC 9700 §4.14.2)', async () => {
  const config = await spaConfig();
  const first = await aliceTokens();
  const sub = oauth.getValidatedIdTokenClaims(first).sub;
  const second = await client.refreshTokenGrant(config, first.refresh_token);
  assert.ok(second.refresh_token);
  assert.notEqual(second.refresh_token, first.refresh_token);
  assert.notEqual(second.access_token, first.access_token);
  // The new access token works.
  const info = await client.fetchUserInfo(config, second.access_token, sub);
  assert.equal(info.sub, sub);
  const third = await client.refreshTokenGrant(config, second.refresh_token);
  assert.notEqual(third.refresh_token, second.refresh_token);
  assert.equal((await introspect(third.refresh_token)).active, true);

  // The spent one comes back: refused, and everything of the grant with it.
  await assert.rejects(client.refreshTokenGrant(config, first.refresh_token),
    (e) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant' && e.status === 400);
  await assertRefreshRefused(third.refresh_token, 'the newest refresh token after reuse');
  assert.deepEqual(await introspect(third.refresh_token), { active: false });
});

test('oauth4webapi: refresh keeps the subject, narrows scope on request and refuses a wider one (RFC 6749 §6)', async () => {
  const first = await aliceTokens();
  const claims = oauth.getValidatedIdTokenClaims(first);
  const response = await oauth.refreshTokenGrantRequest(as, spaClient, oauth.None(),
    first.refresh_token, { additionalParameters: { scope: 'openid invoices:read' }, ...insecure });
  const second = await oauth.processRefreshTokenResponse(as, spaClient, response);
  assert.equal(second.scope, 'openid invoices:read');
  assert.ok(second.refresh_token && second.refresh_token !== first.refresh_token);
  if (second.id_token) {
    // OpenID Core §12.2: same iss, sub, aud; oauth4webapi already checked the claims.
    const again = oauth.getValidatedIdTokenClaims(second);
    assert.equal(again.sub, claims.sub);
    assert.equal(again.auth_time, claims.auth_time);
  }
  const wider = await form(as.token_endpoint, {
    grant_type: 'refresh_token', refresh_token: second.refresh_token, client_id: spa.client_id,
    scope: 'openid invoices:write',
  });
  assert.equal(wider.status, 400);
  assert.equal(wider.body.error, 'invalid_scope');
  // The refused request did not spend the refresh token.
  const third = await refresh(second.refresh_token);
  assert.equal(third.status, 200, third.text);
  // Another client may not use it.
  const stolen = await form(as.token_endpoint,
    { grant_type: 'refresh_token', refresh_token: third.body.refresh_token },
    basic(svc.client_id, svc.client_secret));
  assert.equal(stolen.status, 400);
  assert.ok(['invalid_grant', 'unauthorized_client'].includes(stolen.body.error), stolen.text);
  // Garbage is invalid_grant; a missing one invalid_request.
  await assertRefreshRefused('garbage', 'garbage');
  const missing = await form(as.token_endpoint, { grant_type: 'refresh_token', client_id: spa.client_id });
  assert.equal(missing.body.error, 'invalid_request');
});

test('50 concurrent refreshes with one refresh token: exactly one wins, the family is then revoked', async () => {
  const first = await aliceTokens();
  const results = await Promise.all(Array.from({ length: 50 }, () => refresh(first.refresh_token)));
  const winners = results.filter((r) => r.status === 200);
  const losers = results.filter((r) => r.status !== 200);
  assert.equal(winners.length, 1, `statuses: ${results.map((r) => r.status).join(',')}`);
  assert.equal(losers.length, 49);
  for (const r of losers) {
    assert.equal(r.status, 400, r.text);
    assert.equal(r.body.error, 'invalid_grant', r.text);
  }
  // A spent token was presented 49 times: the winner's new refresh token is refused too.
  const winner = winners[0].body;
  assert.ok(winner.refresh_token);
  await assertRefreshRefused(winner.refresh_token, "the winner's refresh token");
  assert.deepEqual(await introspect(winner.refresh_token), { active: false });
});

// --- 9. Introspection -----------------------------------------------------------------------

test('introspection: the service client sees spa tokens of its audience (RFC 7662 §2.2)', async () => {
  const tokens = await aliceTokens();
  const sub = oauth.getValidatedIdTokenClaims(tokens).sub;
  const now = Math.floor(Date.now() / 1000);
  const at = await introspect(tokens.access_token);
  assert.equal(at.active, true);
  assert.equal(at.sub, sub);
  assert.equal(at.client_id, spa.client_id);
  assert.equal(at.scope, 'openid profile email offline_access invoices:read');
  assert.equal(at.iss, ready.issuer);
  assert.equal(at.aud, INVOICES);
  assert.equal(at.token_type, 'Bearer');
  assert.ok(at.iat <= now + 5 && at.iat >= now - 60, String(at.iat));
  assert.ok(at.exp > at.iat);

  const rt = await introspect(tokens.refresh_token);
  assert.equal(rt.active, true);
  assert.equal(rt.sub, sub);
  assert.equal(rt.client_id, spa.client_id);
  assert.equal(rt.token_type, undefined);

  // openid-client reads the same answer.
  const config = await serviceConfig();
  const viaClient = await client.tokenIntrospection(config, tokens.access_token);
  assert.equal(viaClient.active, true);
  assert.equal(viaClient.sub, sub);

  // RFC 7662 §2.2: inactive is only {active:false}.
  assert.deepEqual(await introspect('garbage'), { active: false });
  const [h, p, sig] = tokens.access_token.split('.');
  const flipped = Buffer.from(sig, 'base64url');
  flipped[10] ^= 1;
  assert.deepEqual(await introspect(`${h}.${p}.${flipped.toString('base64url')}`), { active: false }, 'bad signature');
  assert.deepEqual(await introspect(tokens.id_token), { active: false });  // not an access token
  // The exchange client (client_secret_post) shares the invoices audience: it sees the token.
  const viaExchange = await introspect(tokens.access_token, { caller: exchange, auth: oauth.ClientSecretPost });
  assert.equal(viaExchange.active, true);
  assert.equal(viaExchange.sub, sub);
  // RFC 7662 §4: rs (audience ledger only) is neither the token's client nor one of its
  // audiences; to it the tokens look inactive.
  assert.deepEqual(await introspect(tokens.access_token, { caller: rs }), { active: false }, 'access token to rs');
  assert.deepEqual(await introspect(tokens.refresh_token, { caller: rs }), { active: false }, 'refresh token to rs');
});

test('introspection as a signed JWT (RFC 9701): typ, aud = caller, token_introspection', async () => {
  const tokens = await aliceTokens();
  const sub = oauth.getValidatedIdTokenClaims(tokens).sub;
  // oauth4webapi asks with Accept: application/token-introspection+jwt and checks the JWT.
  const viaLib = await introspect(tokens.access_token, { jwt: true });
  assert.equal(viaLib.active, true);
  assert.equal(viaLib.sub, sub);

  const r = await fetch(as.introspection_endpoint, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/token-introspection+jwt',
      ...basic(svc.client_id, svc.client_secret),
    },
    body: new URLSearchParams({ token: tokens.access_token }).toString(),
  });
  assert.equal(r.status, 200);
  assert.equal(r.headers.get('content-type'), 'application/token-introspection+jwt');
  assert.equal(r.headers.get('cache-control'), 'no-store');
  const jwt = await r.text();
  const { payload, protectedHeader } = await jose.jwtVerify(jwt,
    jose.createRemoteJWKSet(new URL(as.jwks_uri)), {
      typ: 'token-introspection+jwt', issuer: ready.issuer, audience: svc.client_id,
      algorithms: as.introspection_signing_alg_values_supported,
    });
  assert.equal(protectedHeader.typ, 'token-introspection+jwt');
  assert.ok(protectedHeader.kid);
  assert.equal(typeof payload.iat, 'number');
  assert.equal(payload.token_introspection.active, true);
  assert.equal(payload.token_introspection.sub, sub);
  assert.equal(payload.token_introspection.client_id, spa.client_id);
  assert.equal(payload.token_introspection.aud, INVOICES);

  // An inactive token in a JWT too.
  const inactive = await introspect('garbage', { jwt: true });
  assert.deepEqual(inactive, { active: false });
});

test('introspection: refresh tokens inactive once revoked or after reuse', async () => {
  const revoked = await aliceTokens();
  assert.equal((await introspect(revoked.refresh_token)).active, true);
  const rv = await oauth.revocationRequest(as, spaClient, oauth.None(), revoked.refresh_token, insecure);
  await oauth.processRevocationResponse(rv);
  assert.deepEqual(await introspect(revoked.refresh_token), { active: false });

  const reused = await aliceTokens();
  const next = await refresh(reused.refresh_token);
  assert.equal(next.status, 200);
  assert.equal((await introspect(next.body.refresh_token)).active, true);
  await assertRefreshRefused(reused.refresh_token, 'reuse');
  assert.deepEqual(await introspect(next.body.refresh_token), { active: false });
  assert.deepEqual(await introspect(reused.refresh_token), { active: false });
});

test('introspection: client authentication required and enforced (RFC 7662 §2.1)', async () => {
  const tokens = await aliceTokens();
  // A public client cannot introspect.
  const pub = await form(as.introspection_endpoint, { token: tokens.access_token, client_id: spa.client_id });
  assert.equal(pub.status, 401, pub.text);
  assert.equal(pub.body.error, 'invalid_client');
  await assert.rejects(async () => {
    const response = await oauth.introspectionRequest(as, spaClient, oauth.None(), tokens.access_token, insecure);
    await oauth.processIntrospectionResponse(as, spaClient, response);
  }, (e) => (e instanceof oauth.ResponseBodyError && e.error === 'invalid_client' && e.status === 401) ||
    (e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401));
  // No client at all.
  const anonymous = await form(as.introspection_endpoint, { token: tokens.access_token });
  assert.equal(anonymous.status, 401);
  assert.equal(anonymous.body.error, 'invalid_client');
  // Wrong secret.
  const wrong = await form(as.introspection_endpoint, { token: tokens.access_token }, basic(svc.client_id, 'nope'));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
  // The registered method only: service is client_secret_basic, not client_secret_post.
  const post = await form(as.introspection_endpoint,
    { token: tokens.access_token, client_id: svc.client_id, client_secret: svc.client_secret });
  assert.equal(post.status, 401);
  assert.equal(post.body.error, 'invalid_client');
  // No token: invalid_request.
  const none = await form(as.introspection_endpoint, {}, basic(svc.client_id, svc.client_secret));
  assert.equal(none.status, 400);
  assert.equal(none.body.error, 'invalid_request');
});

// --- 10. Revocation -------------------------------------------------------------------------

test('revocation: spa revokes its refresh token, then refreshing fails (RFC 7009 §2)', async () => {
  const tokens = await aliceTokens();
  const r = await form(as.revocation_endpoint,
    { token: tokens.refresh_token, token_type_hint: 'refresh_token', client_id: spa.client_id });
  assert.equal(r.status, 200, r.text);
  await assertRefreshRefused(tokens.refresh_token, 'revoked');
  // Revoking it again, or garbage, is still 200 (§2.2).
  const again = await form(as.revocation_endpoint, { token: tokens.refresh_token, client_id: spa.client_id });
  assert.equal(again.status, 200);
  const garbage = await form(as.revocation_endpoint, { token: 'garbage', client_id: spa.client_id });
  assert.equal(garbage.status, 200);

  // openid-client.
  const config = await spaConfig();
  const other = await aliceTokens();
  await client.tokenRevocation(config, other.refresh_token, { token_type_hint: 'refresh_token' });
  await assert.rejects(client.refreshTokenGrant(config, other.refresh_token),
    (e) => e instanceof client.ResponseBodyError && e.error === 'invalid_grant');
});

test('revocation with opaque access tokens: the refresh token takes its access tokens along (RFC 7009 §2.1)', async () => {
  const self = async (token) => introspect(token, { caller: web });
  const viaRefresh = await aliceTokens('openid offline_access invoices:read', web);
  assert.equal((await self(viaRefresh.access_token)).active, true);
  const refreshed = await form(as.token_endpoint,
    { grant_type: 'refresh_token', refresh_token: viaRefresh.refresh_token }, basic(web.client_id, web.client_secret));
  assert.equal(refreshed.status, 200, refreshed.text);
  const webClient = { client_id: web.client_id };
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, webClient,
    oauth.ClientSecretBasic(web.client_secret), refreshed.body.refresh_token, insecure));
  assert.deepEqual(await self(refreshed.body.refresh_token), { active: false });
  assert.deepEqual(await self(refreshed.body.access_token), { active: false });
  assert.deepEqual(await self(viaRefresh.access_token), { active: false });

  // An opaque access token alone: revoked, its refresh token stays.
  const alone = await aliceTokens('openid offline_access invoices:read', web);
  await oauth.processRevocationResponse(await oauth.revocationRequest(as, webClient,
    oauth.ClientSecretBasic(web.client_secret), alone.access_token, { additionalParameters: { token_type_hint: 'access_token' }, ...insecure }));
  assert.deepEqual(await self(alone.access_token), { active: false });
  const stillThere = await self(alone.refresh_token);
  assert.equal(stillThere.active, true, 'refresh token after revoking its access token');
});

test("revocation: another client's token is left alone, and the answer does not tell (RFC 7009 §2.1)", async () => {
  const tokens = await aliceTokens();
  const config = await serviceConfig();
  await client.tokenRevocation(config, tokens.refresh_token);
  const raw = await form(as.revocation_endpoint, { token: tokens.refresh_token }, basic(svc.client_id, svc.client_secret));
  assert.equal(raw.status, 200);
  const still = await refresh(tokens.refresh_token);
  assert.equal(still.status, 200, still.text);
  // Nor can a public client revoke a confidential client's token.
  const webTokens = await aliceTokens('openid offline_access invoices:read', web);
  const bySpa = await form(as.revocation_endpoint, { token: webTokens.refresh_token, client_id: spa.client_id });
  assert.equal(bySpa.status, 200);
  assert.equal((await introspect(webTokens.refresh_token, { caller: web })).active, true,
    "web's refresh token after spa revoked it");
  // A public client revoking with an unknown client_id, or a wrong secret: invalid_client.
  const unknown = await form(as.revocation_endpoint, { token: still.body.refresh_token, client_id: 'nobody' });
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.error, 'invalid_client');
  const wrong = await form(as.revocation_endpoint, { token: still.body.refresh_token }, basic(svc.client_id, 'nope'));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
  // Missing token: invalid_request.
  const missing = await form(as.revocation_endpoint, { client_id: spa.client_id });
  assert.equal(missing.status, 400);
  assert.equal(missing.body.error, 'invalid_request');
  assert.equal((await refresh(still.body.refresh_token)).status, 200);
});
