// Client credentials against `tessera demo` with real, unmodified client libraries:
// oauth4webapi and openid-client (discovery, token request, response checks), then the JWT
// access token verified with jose against the server's JWKS (RFC 9068). The only relaxation is
// allowInsecureRequests: the demo speaks plain http on 127.0.0.1.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN, freePort, startTessera, waitFor } from '../lib/tessera.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

let demo;
let ready;
let dir;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-oauth-interop-'));
  const port = await freePort();
  demo = startTessera(['demo', '--port', String(port), '--data-dir', dir]);
  const out = await waitFor(() => demo.out().includes('\n') && demo.out(), 'readiness line');
  ready = JSON.parse(out.trim());
});

after(() => {
  demo?.child.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

const insecure = { [oauth.allowInsecureRequests]: true };

async function verifyAccessToken(token, { scope, audience, client = ready.clients.service }) {
  const jwks = jose.createRemoteJWKSet(new URL(ready.issuer + '/jwks'));
  const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
    typ: 'at+jwt',
    issuer: ready.issuer,
    audience,
    algorithms: ['ES256'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.ok(protectedHeader.kid);
  assert.equal(payload.sub, client.client_id);
  assert.equal(payload.client_id, client.client_id);
  assert.equal(payload.scope, scope);
  assert.equal(typeof payload.jti, 'string');
  assert.ok(payload.exp > payload.iat);
  return payload;
}

// Each client with the token_endpoint_auth_method it registered: service with
// client_secret_basic, exchange with client_secret_post.
for (const [name, auth, who] of [
  ['ClientSecretBasic', oauth.ClientSecretBasic, 'service'],
  ['ClientSecretPost', oauth.ClientSecretPost, 'exchange'],
]) {
  test(`oauth4webapi: discovery and client credentials with ${name}`, async () => {
    const issuer = new URL(ready.issuer);
    const as = await oauth.processDiscoveryResponse(
      issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.ok(as.grant_types_supported.includes('client_credentials'));
    const registered = ready.clients[who];
    assert.equal(registered.token_endpoint_auth_method, name === 'ClientSecretBasic' ? 'client_secret_basic' : 'client_secret_post');
    const c = { client_id: registered.client_id };
    const response = await oauth.clientCredentialsGrantRequest(
      as, c, auth(registered.client_secret), { scope: 'invoices:read', resource: registered.audience }, insecure);
    const result = await oauth.processClientCredentialsResponse(as, c, response);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'invoices:read');
    assert.ok(result.expires_in > 0);
    await verifyAccessToken(result.access_token,
      { scope: 'invoices:read', audience: registered.audience, client: registered });
  });
}

test('oauth4webapi: a client using another method than the one it registered is refused (401 invalid_client)', async () => {
  const issuer = new URL(ready.issuer);
  const as = await oauth.processDiscoveryResponse(
    issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
  // service registered client_secret_basic; its (right) secret in the body is refused.
  const svc = ready.clients.service;
  const c = { client_id: svc.client_id };
  await assert.rejects(async () => {
    const response = await oauth.clientCredentialsGrantRequest(
      as, c, oauth.ClientSecretPost(svc.client_secret), { scope: 'invoices:read' }, insecure);
    await oauth.processClientCredentialsResponse(as, c, response);
  }, (e) => (e instanceof oauth.ResponseBodyError && e.status === 401 && e.error === 'invalid_client') ||
    // A 401 with a WWW-Authenticate challenge (RFC 6749 §5.2 allows one) is read as such.
    (e instanceof oauth.WWWAuthenticateChallengeError && e.status === 401));
  const raw = await post(`grant_type=client_credentials&client_id=${svc.client_id}&client_secret=${encodeURIComponent(svc.client_secret)}`);
  assert.equal(raw.status, 401);
  assert.equal(raw.body.error, 'invalid_client');
  // And exchange (client_secret_post) cannot switch to basic.
  const ex = ready.clients.exchange;
  const basicEx = await post('grant_type=client_credentials&scope=invoices:read', basic(ex.client_id, ex.client_secret));
  assert.equal(basicEx.status, 401);
  assert.equal(basicEx.body.error, 'invalid_client');
  assert.match(basicEx.headers.get('www-authenticate'), /^Basic /);  // RFC 6749 §5.2
});

test('oauth4webapi: OpenID discovery document names the same issuer', async () => {
  const issuer = new URL(ready.issuer);
  const as = await oauth.processDiscoveryResponse(
    issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
  assert.equal(as.issuer, ready.issuer);
  assert.equal(as.token_endpoint, ready.issuer + '/token');
});

test('openid-client: discovery and clientCredentialsGrant', async () => {
  const svc = ready.clients.service;
  // service registered client_secret_basic (openid-client's default would be the body).
  const config = await client.discovery(new URL(ready.issuer), svc.client_id, svc.client_secret,
    client.ClientSecretBasic(svc.client_secret), { execute: [client.allowInsecureRequests] });
  const tokens = await client.clientCredentialsGrant(config, { scope: svc.scope });
  assert.equal(tokens.token_type, 'bearer');
  assert.equal(tokens.scope, svc.scope);
  await verifyAccessToken(tokens.access_token, { scope: svc.scope, audience: svc.audience });
});

async function post(body, headers = {}) {
  const r = await fetch(ready.issuer + '/token', {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body,
  });
  const text = await r.text();
  assert.notEqual(r.status, 500, text);
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.equal(r.headers.get('cache-control'), 'no-store');
  return { status: r.status, headers: r.headers, body: JSON.parse(text) };
}

function basic(id, secret) {
  return { authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64') };
}

test('bad input gets the RFC 6749 §5.2 error, never a 500', async () => {
  const svc = ready.clients.service;
  const good = basic(svc.client_id, svc.client_secret);

  const wrong = await post('grant_type=client_credentials', basic(svc.client_id, 'wrong'));
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
  assert.match(wrong.headers.get('www-authenticate'), /^Basic /);

  const dup = await post('grant_type=client_credentials&scope=invoices:read&scope=invoices:read', good);
  assert.equal(dup.status, 400);
  assert.equal(dup.body.error, 'invalid_request');

  const password = await post('grant_type=password&username=a&password=b', good);
  assert.equal(password.status, 400);
  assert.equal(password.body.error, 'unsupported_grant_type');

  const scope = await post('grant_type=client_credentials&scope=admin', good);
  assert.equal(scope.status, 400);
  assert.equal(scope.body.error, 'invalid_scope');

  const target = await post('grant_type=client_credentials&resource=https%3A%2F%2Fevil.example', good);
  assert.equal(target.body.error, 'invalid_target');

  const both = await post(`grant_type=client_credentials&client_id=${svc.client_id}&client_secret=${svc.client_secret}`, good);
  assert.equal(both.body.error, 'invalid_request');

  for (const body of ['', '%', 'grant_type=%ff', '&&&', 'a'.repeat(5000), 'grant_type=client_credentials&resource=%00']) {
    const r = await post(body, good);
    assert.ok(r.status === 400 || r.status === 401, `${body.slice(0, 20)} -> ${r.status}`);
  }
  const json = await fetch(ready.issuer + '/token', {
    method: 'POST', headers: { 'content-type': 'application/json', ...good }, body: '{}',
  });
  assert.equal(json.status, 400);
  assert.equal((await json.json()).error, 'invalid_request');

  const get = await fetch(ready.issuer + '/token');
  assert.equal(get.status, 405);
});
