// The FAPI 2.0 Security Profile switch (`as.fapi2: true`) at a `tessera serve` of the as role,
// with real, unmodified oauth4webapi 3 in its default, strict mode: discovery that lists only
// what the profile allows, and the flow a FAPI 2.0 client runs: a pushed (RFC 9126), signed
// (JAR, RFC 9101) authorization request authenticated with private_key_jwt (RFC 7523 §2.2) and
// bound to a DPoP key (RFC 9449 §10.1), a JWT-secured authorization response (JARM, validated by
// oauth4webapi against the JWKS), the code redeemed for DPoP-bound tokens, UserInfo and a refresh
// with the same key. Then what the profile refuses, each with its error: an authorization request
// that was not pushed, a token request without a sender constraint, a client that authenticates
// with a secret, an RS256 client assertion, and an assertion made out to the token endpoint
// instead of the issuer. Keys are made with jose. The only relaxation is allowInsecureRequests:
// the server speaks plain http on 127.0.0.1.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { BIN } from '../lib/tessera.mjs';
import { CookieJar, signIn, visit } from '../lib/login.mjs';
import {
  accessTokenClaims, authorizationRequest, authorizationUrl, insecure, startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

// Each: { key (private CryptoKey), kid, jwk (public) }; both registered for the bank client.
async function keyPair(alg, kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  return { key: privateKey, kid, jwk: { ...(await jose.exportJWK(publicKey)), kid } };
}
const keys = { es: await keyPair('ES256', 'bank-es256'), rs: await keyPair('RS256', 'bank-rs256') };
const keysDir = mkdtempSync(join(tmpdir(), 'tessera-fapi-keys-'));
after(() => rmSync(keysDir, { recursive: true, force: true }));
const bankJwks = join(keysDir, 'bank.json');
writeFileSync(bankJwks, JSON.stringify({ keys: [keys.es.jwk, keys.rs.jwk] }));

describe('tessera serve with as.fapi2: true', () => {
  let as;
  const env = startInteropServe('tessera-fapi-', {
    asExtra: ['fapi2: true'],
    clients: (issuer) => ({
      bank: ['--id', 'fapi-bank', '--auth-method', 'private_key_jwt', '--jwks-file', bankJwks,
        '--redirect-uri', `${issuer}/bank/cb`, '--scope', 'openid profile', '--skip-consent',
        '--grant-type', 'authorization_code', '--grant-type', 'refresh_token',
        '--grant-type', 'client_credentials', '--audience', 'https://api.example'],
      // Registered with a secret: the server-wide profile refuses its method.
      web: ['--id', 'fapi-web', '--redirect-uri', `${issuer}/web/cb`, '--scope', 'openid',
        '--skip-consent'],
    }),
    user: 'dave',
  }, (serve) => {
    as = serve.as;
  });

  const cc = (c) => ({ client_id: c.client_id });
  const keyAuth = (signer = keys.es, modify) => oauth.PrivateKeyJwt({ key: signer.key, kid: signer.kid },
    modify ? { [oauth.modifyAssertion]: modify } : {});

  test('discovery lists only the profile: PAR required, private_key_jwt, PS256/ES256/EdDSA', () => {
    assert.equal(as.require_pushed_authorization_requests, true);
    assert.deepEqual(as.token_endpoint_auth_methods_supported, ['private_key_jwt']);
    const algs = ['PS256', 'ES256', 'EdDSA', 'Ed25519'];
    assert.deepEqual(as.token_endpoint_auth_signing_alg_values_supported, algs);
    assert.deepEqual(as.request_object_signing_alg_values_supported, algs);
    assert.ok(as.dpop_signing_alg_values_supported.length > 0);
    for (const alg of as.dpop_signing_alg_values_supported) assert.ok(algs.includes(alg), alg);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.ok(as.response_modes_supported.includes('jwt'));
  });

  test('oauth4webapi: PAR + JAR + private_key_jwt + DPoP, a JARM response, DPoP-bound tokens, UserInfo and refresh', async () => {
    const c = cc(env.bank);
    const keyPair = await oauth.generateKeyPair('ES256');
    const DPoP = oauth.DPoP(c, keyPair);
    const a = await authorizationRequest(env.bank, { response_mode: 'jwt' });
    const request = await oauth.issueRequestObject(as, c, a.params, { key: keys.es.key, kid: keys.es.kid });
    const pushed = await oauth.processPushedAuthorizationResponse(as, c,
      await oauth.pushedAuthorizationRequest(as, c, keyAuth(), { request }, { DPoP, ...insecure }));
    const url = new URL(as.authorization_endpoint);
    url.searchParams.set('client_id', c.client_id);
    url.searchParams.set('request_uri', pushed.request_uri);
    const r = await signIn(url.href, env.user, { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    // JARM: the whole response is one JWT signed by the server; oauth4webapi checks it.
    assert.deepEqual([...r.location.searchParams.keys()], ['response']);
    const params = await oauth.validateJwtAuthResponse(as, c, r.location, a.state, insecure);
    const response = await oauth.authorizationCodeGrantRequest(as, c, keyAuth(), params,
      env.bank.redirect_uris[0], a.verifier, { DPoP, ...insecure });
    const result = await oauth.processAuthorizationCodeResponse(as, c, response,
      { expectedNonce: a.nonce, requireIdToken: true });
    assert.equal(result.token_type, 'dpop');
    const thumbprint = await jose.calculateJwkThumbprint(await jose.exportJWK(keyPair.publicKey));
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.cnf?.jkt, thumbprint);
    assert.equal(claims.client_id, c.client_id);
    assert.equal(jose.decodeProtectedHeader(result.id_token).alg, 'ES256');

    const sub = oauth.getValidatedIdTokenClaims(result).sub;
    const info = await oauth.processUserInfoResponse(as, c, sub,
      await oauth.userInfoRequest(as, c, result.access_token, { DPoP, ...insecure }));
    assert.equal(info.preferred_username, env.user.username);

    const refreshed = await oauth.processRefreshTokenResponse(as, c,
      await oauth.refreshTokenGrantRequest(as, c, keyAuth(), result.refresh_token, { DPoP, ...insecure }));
    assert.equal(refreshed.token_type, 'dpop');
    assert.equal((await accessTokenClaims(as, refreshed.access_token)).cnf?.jkt, thumbprint);
  });

  test('a token request without DPoP or a client certificate: 400 invalid_request, no token', async () => {
    const c = cc(env.bank);
    await assert.rejects(async () => oauth.processClientCredentialsResponse(as, c,
      await oauth.clientCredentialsGrantRequest(as, c, keyAuth(), { scope: 'openid' }, insecure)),
    (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === 'invalid_request'
      && /sender-constrained/.test(e.error_description));
    const DPoP = oauth.DPoP(c, await oauth.generateKeyPair('ES256'));
    const bound = await oauth.clientCredentialsGrantRequest(as, c, keyAuth(), { scope: 'openid' },
      { DPoP, ...insecure });
    assert.equal(bound.status, 200, await bound.clone().text());
    assert.equal((await oauth.processClientCredentialsResponse(as, c, bound)).token_type, 'dpop');
  });

  test('an authorization request that was not pushed goes back to the client as invalid_request', async () => {
    const a = await authorizationRequest(env.bank);
    const page = await visit(new CookieJar(), authorizationUrl(as, env.bank.client_id, a.params).href);
    assert.equal(page.status, 303, page.text.slice(0, 300));
    const location = new URL(page.response.headers.get('location'));
    assert.equal(location.origin + location.pathname, env.bank.redirect_uris[0]);
    assert.equal(location.searchParams.get('error'), 'invalid_request');
    assert.equal(location.searchParams.get('code'), null);
    assert.throws(() => oauth.validateAuthResponse(as, cc(env.bank), location, a.state),
      (e) => e instanceof oauth.AuthorizationResponseError && e.error === 'invalid_request');
  });

  test('a client with a secret, an RS256 assertion, an assertion for the token endpoint: 401 invalid_client', async () => {
    const a = await authorizationRequest(env.bank);
    const cases = [
      ['client_secret_basic', env.web, oauth.ClientSecretBasic(env.web.client_secret), /FAPI 2\.0/],
      ['RS256 assertion', env.bank, keyAuth(keys.rs), /PS256, ES256 or EdDSA/],
      ['aud = token endpoint', env.bank,
        keyAuth(keys.es, (_header, payload) => { payload.aud = as.token_endpoint; }), /issuer/],
      ['aud = [issuer]', env.bank,
        keyAuth(keys.es, (_header, payload) => { payload.aud = [as.issuer]; }), /issuer/],
    ];
    for (const [name, c, auth, why] of cases) {
      const params = { ...a.params, redirect_uri: c.redirect_uris[0] };
      const response = await oauth.pushedAuthorizationRequest(as, cc(c), auth, params, insecure);
      assert.equal(response.status, 401, `${name}: ${await response.clone().text()}`);
      const body = await response.clone().json();
      assert.equal(body.error, 'invalid_client', name);
      assert.match(body.error_description, why, name);
      // oauth4webapi refuses it too (a Basic challenge comes with the secret's 401).
      await assert.rejects(oauth.processPushedAuthorizationResponse(as, cc(c), response),
        (e) => e instanceof oauth.ResponseBodyError || e instanceof oauth.WWWAuthenticateChallengeError);
    }
    // The control: the same request with the ES256 key and the issuer as aud is pushed.
    const good = await oauth.pushedAuthorizationRequest(as, cc(env.bank), keyAuth(), a.params, insecure);
    assert.equal(good.status, 201, await good.clone().text());
  });
});
