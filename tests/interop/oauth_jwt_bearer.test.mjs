// The JWT bearer grant (RFC 7523 §2.1) at a `tessera serve` of the as role: a partner issuer
// whose JWKS this test serves over HTTP on 127.0.0.1 (`as.jwt_bearer_issuers`), assertions made
// with jose, and the token request sent by oauth4webapi 3 (strict) through genericTokenEndpointRequest.
// Checked: the access token's sub is the assertion's, scopes stay within the client's and the
// issuer's, and the refusals of §3 (untrusted issuer, a subject the issuer may not assert,
// another audience, a replayed jti, a key that is not the issuer's) are invalid_grant. The only
// relaxation is allowInsecureRequests: plain http on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { BIN } from '../lib/tessera.mjs';
import { insecure, jwksPublisher, startInteropServe } from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
const PARTNER = 'https://partner.example';

// The partner's key and its JWKS, served by this test; a key of no one's.
const partner = await jwksPublisher('partner-1');

describe('tessera serve with a trusted JWT bearer issuer', () => {
  let as;
  const env = startInteropServe('tessera-jwt-bearer-', {
    asExtra: () => [
      'jwt_bearer_issuers:',
      `  - issuer: ${PARTNER}`,
      `    jwks_uri: ${partner.jwksUri()}`,
      '    subjects: [alice@partner, bob@partner]',
      '    scopes: [openid, invoices:read]',
    ],
    clients: () => ({
      svc: ['--id', 'bearer-svc', '--type', 'confidential', '--grant-type', GRANT,
        '--scope', 'invoices:read invoices:write', '--audience', 'https://api.example'],
    }),
  }, (serve) => {
    as = serve.as;
  });

  const assertion = (claims = {}, key = partner.keys.privateKey) => new jose.SignJWT({
    sub: 'alice@partner', jti: randomUUID(), ...claims,
  }).setProtectedHeader({ alg: 'ES256', kid: 'partner-1' }).setIssuer(claims.iss ?? PARTNER)
    .setAudience(claims.aud ?? as.issuer).setIssuedAt().setExpirationTime('5m').sign(key);
  const request = async (jwt, params = {}) => oauth.genericTokenEndpointRequest(as, { client_id: env.svc.client_id },
    oauth.ClientSecretBasic(env.svc.client_secret), GRANT, { assertion: jwt, ...params }, insecure);

  test('discovery lists the grant', () => {
    assert.ok(as.grant_types_supported.includes(GRANT), as.grant_types_supported.join(' '));
  });

  test('oauth4webapi: an assertion of the partner gets an access token for its subject', async () => {
    const response = await request(await assertion(), { scope: 'invoices:read' });
    const result = await oauth.processGenericTokenEndpointResponse(as, { client_id: env.svc.client_id }, response);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'invoices:read');
    assert.equal(result.refresh_token, undefined);
    const { payload } = await jose.jwtVerify(result.access_token,
      jose.createRemoteJWKSet(new URL(as.jwks_uri)), { typ: 'at+jwt', issuer: as.issuer });
    assert.equal(payload.sub, 'alice@partner');
    assert.equal(payload.client_id, env.svc.client_id);
    assert.equal(payload.aud, 'https://api.example');
    assert.ok(partner.requests >= 1, 'the server fetched the partner JWKS');
  });

  test('the refusals of RFC 7523 §3 and scopes outside the issuer\'s are errors in RFC 6749 §5.2 shape', async () => {
    const replayed = await assertion();
    assert.equal((await request(replayed)).status, 200);
    const cases = [
      ['untrusted issuer', await assertion({ iss: 'https://elsewhere.example' }), 'invalid_grant'],
      ['subject not allowed', await assertion({ sub: 'mallory@partner' }), 'invalid_grant'],
      ['another audience', await assertion({ aud: 'https://other.example' }), 'invalid_grant'],
      ['replayed jti', replayed, 'invalid_grant'],
      ['a key that is not the partner\'s', await assertion({}, partner.rogue.privateKey), 'invalid_grant'],
    ];
    for (const [name, jwt, code] of cases) {
      const response = await request(jwt);
      assert.equal(response.status, 400, `${name}: ${await response.clone().text()}`);
      await assert.rejects(oauth.processGenericTokenEndpointResponse(as, { client_id: env.svc.client_id }, response),
        (e) => e instanceof oauth.ResponseBodyError && e.error === code, name);
    }
    const scope = await request(await assertion(), { scope: 'invoices:write' });
    assert.equal(scope.status, 400);
    assert.equal((await scope.json()).error, 'invalid_scope');
  });
});
