// JWT-secured authorization requests (JAR, RFC 9101) at Tessera with real, unmodified client
// libraries (oauth4webapi 3 in its default, strict mode; openid-client 6): a `tessera serve` of the
// as role whose clients registered request object keys with `tessera client create --jwks-file`
// (a confidential client_secret_basic client, a public client, and one without keys), discovery
// (§10.1), request objects made by oauth4webapi's issueRequestObject and pushed (RFC 9126 §3) or
// passed by value to /authorize (§5.1), each walked through the login page and redeemed, the
// object's claims as the whole request (§6.3), ES256, PS256, RS256 and Ed25519 signatures, and
// the objects that must be refused (§6.1, §6.3): another key, wrong aud, expired, and the other
// claim and header checks, each a JSON invalid_request_object at the PAR endpoint and an error
// page (no redirect, no code) at /authorize. Keys are made with jose. The only relaxation is
// allowInsecureRequests: the server speaks plain http on 127.0.0.1.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN } from '../lib/tessera.mjs';
import { CookieJar, signIn, visit } from '../lib/login.mjs';
import {
  accessTokenClaims, authorizationRequest, authorizationUrl, insecure, pushedUrl, redeemCode,
  startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const REQUEST_URI_PREFIX = 'urn:ietf:params:oauth:request_uri:';

// --- Keys ------------------------------------------------------------------------------------

// Made with jose when the file loads, before any hook runs. Each: { key (private CryptoKey), kid,
// jwk (public) }. `es`, `ps`, `rs` and `ed` are registered for the confidential client, `spaKey`
// for the public one; `rogue` nowhere.
async function keyPair(alg, kid) {
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, { extractable: true });
  return { key: privateKey, kid, jwk: { ...(await jose.exportJWK(publicKey)), kid } };
}
const keys = {
  es: await keyPair('ES256', 'web-es256'),
  ps: await keyPair('PS256', 'web-ps256'),
  rs: await keyPair('RS256', 'web-rs256'),
  ed: await keyPair('Ed25519', 'web-ed25519'),
  spaKey: await keyPair('ES256', 'spa-es256'),
  rogue: await keyPair('ES256', 'rogue-es256'),
};
const keysDir = mkdtempSync(join(tmpdir(), 'tessera-jar-keys-'));
after(() => rmSync(keysDir, { recursive: true, force: true }));
function jwksFile(name, ...entries) {
  const file = join(keysDir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ keys: entries.map((e) => e.jwk) }));
  return file;
}
const webJwks = jwksFile('web', keys.es, keys.ps, keys.rs, keys.ed);
const spaJwks = jwksFile('spa', keys.spaKey);

// --- Helpers ---------------------------------------------------------------------------------

// RFC 9126 §2.2: 201, a request_uri with the URN prefix, expires_in 60.
async function assertPushed(response) {
  assert.equal(response.status, 201, await response.clone().text());
  const raw = await response.clone().json();
  assert.ok(raw.request_uri.startsWith(REQUEST_URI_PREFIX), raw.request_uri);
  assert.equal(raw.expires_in, 60);
  return raw;
}

// The browser's URL for a request object by value (RFC 9101 §5.1): client_id and request, then
// `outside` (parameters the server must ignore, §6.3).
function byValueUrl(as, clientId, request, outside = {}) {
  return authorizationUrl(as, clientId, { request, ...outside });
}

// A JSON 400 invalid_request_object of the PAR endpoint (RFC 9126 §2.3, RFC 9101 §6.3), refused
// by oauth4webapi too.
async function assertParRefused(as, c, response, error = 'invalid_request_object') {
  assert.equal(response.status, 400, await response.clone().text());
  assert.equal(response.headers.get('location'), null);
  assert.match(response.headers.get('content-type'), /application\/json/);
  const body = await response.clone().json();
  assert.equal(body.error, error, JSON.stringify(body));
  assert.equal(body.request_uri, undefined);
  await assert.rejects(oauth.processPushedAuthorizationResponse(as, { client_id: c.client_id }, response),
    (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === error);
  return body;
}

// /authorize refusing a request object: a 400 HTML page naming invalid_request_object, no
// redirect (the object's redirect_uri is not trusted; RFC 6749 §4.1.2.1), hence no code.
function assertObjectErrorPage(page) {
  assert.equal(page.status, 400, page.text.slice(0, 300));
  assert.equal(page.response.headers.get('location'), null);
  assert.match(page.response.headers.get('content-type'), /text\/html/);
  assert.match(page.text, /invalid_request_object/);
  assert.doesNotMatch(page.text, /[?&]code=/);
}

// Runs `fn`, its failure's message prefixed with `name` (one case of a table).
async function labelled(name, fn) {
  try {
    await fn();
  } catch (e) {
    e.message = `${name}: ${e.message}`;
    throw e;
  }
}

// --- Against `tessera serve` -----------------------------------------------------------------

describe('tessera serve with clients that registered request object keys', () => {
  let as;
  const env = startInteropServe('tessera-jar-', {
    clients: (issuer) => ({
      // A confidential client (client_secret_basic) with request object keys.
      web: ['--id', 'jar-web', '--type', 'confidential', '--redirect-uri', `${issuer}/web/cb`,
        '--scope', 'openid profile', '--skip-consent', '--jwks-file', webJwks],
      // A public client with its own key.
      spa: ['--id', 'jar-spa', '--type', 'public', '--redirect-uri', `${issuer}/spa/cb`,
        '--scope', 'openid profile', '--skip-consent', '--jwks-file', spaJwks],
      // A confidential client without keys: it cannot use request objects.
      plain: ['--id', 'jar-plain', '--type', 'confidential', '--redirect-uri', `${issuer}/plain/cb`,
        '--scope', 'openid profile', '--skip-consent'],
    }),
    user: 'carol',
  }, (serve) => {
    as = serve.as;
  });

  const cc = (c) => ({ client_id: c.client_id });
  const authOf = (c) => (c.client_secret ? oauth.ClientSecretBasic(c.client_secret) : oauth.None());

  // oauth4webapi's request object for authorization request `a` of client `c`, signed with
  // `signer` (an entry of `keys`); `modify(header, claims)` changes it before signing.
  const requestObject = (c, a, signer = keys.es, modify) => oauth.issueRequestObject(as, cc(c),
    a.params, { key: signer.key, kid: signer.kid }, modify ? { [oauth.modifyAssertion]: modify } : {});

  // oauth4webapi pushes `params` (e.g. { request }) for `c` with its own authentication.
  const push = (c, params) =>
    oauth.pushedAuthorizationRequest(as, cc(c), authOf(c), params, insecure);

  // A browser in which carol is already signed in: an accepted request gets its code at once, so
  // a page instead of a redirect is a refusal, not a login form.
  async function signedInJar(c = env.web) {
    const jar = new CookieJar();
    const a = await authorizationRequest(c);
    const r = await signIn(authorizationUrl(as, c.client_id, a.params).href, env.user, { jar });
    assert.ok(r.location?.searchParams.get('code'), `no code: ${r.location ?? r.page?.status}`);
    assert.deepEqual(r.pages, ['login']);
    return jar;
  }

  test('the registrations hold the public keys', () => {
    assert.equal(env.web.token_endpoint_auth_method, 'client_secret_basic');
    assert.ok(env.web.client_secret);
    assert.deepEqual(env.web.jwks.keys.map((k) => k.kid).sort(),
      ['web-ed25519', 'web-es256', 'web-ps256', 'web-rs256']);
    assert.equal(env.spa.token_endpoint_auth_method, 'none');
    assert.deepEqual(env.spa.jwks.keys.map((k) => k.kid), ['spa-es256']);
    assert.equal(env.plain.jwks, undefined);
  });

  test('discovery: request_parameter_supported and request_object_signing_alg_values_supported (RFC 9101 §10.1)', () => {
    assert.equal(as.request_parameter_supported, true);
    assert.equal(as.request_uri_parameter_supported, false);
    const algs = as.request_object_signing_alg_values_supported;
    assert.ok(Array.isArray(algs), JSON.stringify(algs));
    for (const alg of ['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA', 'Ed25519']) {
      assert.ok(algs.includes(alg), `${alg} missing from ${algs}`);
    }
    // RFC 9101 §6.1, RFC 8725 §3.1: never unsigned, never a shared secret.
    for (const alg of ['none', 'HS256', 'HS384', 'HS512']) {
      assert.ok(!algs.includes(alg), `${alg} listed in ${algs}`);
    }
  });

  test('oauth4webapi: a confidential client pushes a signed request object (PAR + JAR), carol signs in, the code is redeemed', async () => {
    const a = await authorizationRequest(env.web, { scope: 'openid profile' });
    const request = await requestObject(env.web, a);
    // What issueRequestObject made (RFC 9101 §4, §10.8).
    const header = jose.decodeProtectedHeader(request);
    assert.deepEqual(header, { alg: 'ES256', typ: 'oauth-authz-req+jwt', kid: 'web-es256' });
    const claims = jose.decodeJwt(request);
    assert.equal(claims.iss, env.web.client_id);
    assert.equal(claims.aud, as.issuer);
    assert.equal(claims.client_id, env.web.client_id);
    assert.equal(claims.state, a.state);
    // Only the object (and the client's authentication) goes to the PAR endpoint.
    const response = await push(env.web, { request });
    await assertPushed(response);
    const pushed = await oauth.processPushedAuthorizationResponse(as, cc(env.web), response);
    const r = await signIn(pushedUrl(as, env.web.client_id, pushed.request_uri).href, env.user,
      { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    assert.deepEqual(r.pages, ['login']);
    assert.equal(r.location.origin + r.location.pathname, env.web.redirect_uris[0]);
    const result = await redeemCode(as, env.web, a, r.location);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'openid profile');
    const idClaims = oauth.getValidatedIdTokenClaims(result);
    assert.equal(idClaims.nonce, a.nonce);
    assert.equal(idClaims.aud, env.web.client_id);
    const at = await accessTokenClaims(as, result.access_token);
    assert.equal(at.client_id, env.web.client_id);
    assert.equal(at.scope, 'openid profile');
  });

  test('oauth4webapi: the request object by value at /authorize (RFC 9101 §5.1), signed PS256, carol signs in, the code is redeemed', async () => {
    const a = await authorizationRequest(env.web, { scope: 'openid' });
    const request = await requestObject(env.web, a, keys.ps);
    assert.equal(jose.decodeProtectedHeader(request).alg, 'PS256');
    const url = byValueUrl(as, env.web.client_id, request);
    assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request']);
    const r = await signIn(url.href, env.user, { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    assert.deepEqual(r.pages, ['login']);
    assert.equal(r.location.origin + r.location.pathname, env.web.redirect_uris[0]);
    const result = await redeemCode(as, env.web, a, r.location);
    assert.equal(result.scope, 'openid');
    assert.equal(oauth.getValidatedIdTokenClaims(result).nonce, a.nonce);
    assert.equal((await accessTokenClaims(as, result.access_token)).scope, 'openid');
  });

  test('RS256 and Ed25519 objects of the same client go through too (by value and pushed)', async () => {
    const jar = await signedInJar();
    for (const signer of [keys.rs, keys.ed]) {
      // By value.
      const a = await authorizationRequest(env.web, { scope: 'openid' });
      const request = await requestObject(env.web, a, signer);
      assert.equal(jose.decodeProtectedHeader(request).kid, signer.kid);
      const r = await signIn(byValueUrl(as, env.web.client_id, request).href, env.user, { jar });
      assert.ok(r.location, `${signer.kid} by value: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
      const result = await redeemCode(as, env.web, a, r.location);
      assert.equal(result.scope, 'openid');
      // Pushed.
      const b = await authorizationRequest(env.web, { scope: 'openid profile' });
      const response = await push(env.web, { request: await requestObject(env.web, b, signer) });
      await assertPushed(response);
      const pushed = await oauth.processPushedAuthorizationResponse(as, cc(env.web), response);
      const s = await signIn(pushedUrl(as, env.web.client_id, pushed.request_uri).href, env.user, { jar });
      assert.ok(s.location, `${signer.kid} pushed: ${s.page?.status} ${s.page?.text.slice(0, 300)}`);
      assert.equal((await redeemCode(as, env.web, b, s.location)).scope, 'openid profile');
    }
  });

  test('an EdDSA object (the polymorphic name, signed by jose) goes through', async () => {
    const a = await authorizationRequest(env.web, { scope: 'openid' });
    const now = Math.floor(Date.now() / 1000);
    const request = await new jose.SignJWT({ ...a.params, client_id: env.web.client_id })
      .setProtectedHeader({ alg: 'EdDSA', typ: 'oauth-authz-req+jwt', kid: keys.ed.kid })
      .setIssuer(env.web.client_id).setAudience(as.issuer).setIssuedAt(now).setExpirationTime(now + 60)
      .sign(keys.ed.key);
    const r = await signIn(byValueUrl(as, env.web.client_id, request).href, env.user,
      { jar: await signedInJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    assert.equal((await redeemCode(as, env.web, a, r.location)).scope, 'openid');
  });

  test('a public client pushes its object without authentication and signs in', async () => {
    const a = await authorizationRequest(env.spa);
    const response = await push(env.spa, { request: await requestObject(env.spa, a, keys.spaKey) });
    await assertPushed(response);
    const pushed = await oauth.processPushedAuthorizationResponse(as, cc(env.spa), response);
    const r = await signIn(pushedUrl(as, env.spa.client_id, pushed.request_uri).href, env.user,
      { jar: new CookieJar() });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    assert.equal(r.location.origin + r.location.pathname, env.spa.redirect_uris[0]);
    const result = await redeemCode(as, env.spa, a, r.location);
    assert.equal(result.scope, 'openid profile');
    assert.equal(oauth.getValidatedIdTokenClaims(result).aud, env.spa.client_id);
  });

  test('the object is the whole request: parameters beside it are ignored, at /authorize and at the PAR endpoint (RFC 9101 §6.3)', async () => {
    const jar = await signedInJar();
    // At /authorize: the query's scope, state and redirect_uri do not count.
    const a = await authorizationRequest(env.web, { scope: 'openid' });
    const outside = { scope: 'openid profile', state: 'from-the-query', redirect_uri: 'https://evil.example/cb',
      response_type: 'code', nonce: 'from-the-query' };
    const r = await signIn(byValueUrl(as, env.web.client_id, await requestObject(env.web, a), outside).href,
      env.user, { jar });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
    assert.equal(r.location.origin + r.location.pathname, env.web.redirect_uris[0]);
    assert.equal(r.location.searchParams.get('state'), a.state);
    const result = await redeemCode(as, env.web, a, r.location);
    assert.equal(result.scope, 'openid');
    // At the PAR endpoint: the same.
    const b = await authorizationRequest(env.web, { scope: 'openid' });
    const response = await push(env.web, { request: await requestObject(env.web, b), ...outside });
    await assertPushed(response);
    const pushed = await oauth.processPushedAuthorizationResponse(as, cc(env.web), response);
    const s = await signIn(pushedUrl(as, env.web.client_id, pushed.request_uri).href, env.user, { jar });
    assert.ok(s.location, `no redirect: ${s.page?.status} ${s.page?.text.slice(0, 300)}`);
    assert.equal(s.location.origin + s.location.pathname, env.web.redirect_uris[0]);
    assert.equal((await redeemCode(as, env.web, b, s.location)).scope, 'openid');
    // A parameter the object lacks is missing, though given outside: an object without PKCE
    // is refused as such (invalid_request, PKCE is required).
    const c = await authorizationRequest(env.web, { code_challenge: undefined, code_challenge_method: undefined });
    const noPkce = await push(env.web, { request: await requestObject(env.web, c),
      code_challenge: a.params.code_challenge, code_challenge_method: 'S256' });
    await assertParRefused(as, env.web, noPkce, 'invalid_request');
  });

  test('refused at the PAR endpoint and at /authorize: another key, wrong aud, expired; no code (RFC 9101 §6.1, §6.3)', async () => {
    const jar = await signedInJar();
    const now = Math.floor(Date.now() / 1000);
    const cases = {
      // Signed by a key the client did not register, claiming a registered key's kid or none.
      'unregistered key, registered kid': [keys.rogue, (h) => { h.kid = keys.es.kid; }, /signature/],
      'unregistered key, its own kid': [keys.rogue, undefined, /signature/],
      'unregistered key, no kid': [keys.rogue, (h) => { delete h.kid; }, /signature/],
      // aud another server, or missing.
      'wrong aud': [keys.es, (_h, c) => { c.aud = 'https://other.example'; }, /aud/],
      'wrong aud (array)': [keys.es, (_h, c) => { c.aud = ['https://other.example', `${as.issuer}/`]; }, /aud/],
      'no aud': [keys.es, (_h, c) => { delete c.aud; }, /aud/],
      // Expired two minutes ago (beyond any leeway).
      expired: [keys.es, (_h, c) => { c.iat = now - 600; c.nbf = now - 600; c.exp = now - 120; }, /expired/],
    };
    for (const [name, [signer, modify, why]] of Object.entries(cases)) {
      await labelled(name, async () => {
        // PAR: a JSON error, no request_uri.
        const a = await authorizationRequest(env.web);
        const body = await assertParRefused(as, env.web,
          await push(env.web, { request: await requestObject(env.web, a, signer, modify) }));
        assert.match(body.error_description, why);
        // /authorize by value, carol signed in: a page, no redirect, no code.
        const b = await authorizationRequest(env.web);
        const page = await visit(jar,
          byValueUrl(as, env.web.client_id, await requestObject(env.web, b, signer, modify)).href);
        assertObjectErrorPage(page);
        assert.match(page.text, why);
      });
    }
    // The control: the same browser, a good object, a code at once.
    const ok = await authorizationRequest(env.web);
    const r = await signIn(byValueUrl(as, env.web.client_id, await requestObject(env.web, ok)).href,
      env.user, { jar });
    assert.ok(r.location?.searchParams.get('code'), `no code: ${r.location ?? r.page?.status}`);
    assert.deepEqual(r.pages, []);
  });

  test('PAR endpoint: the other claim and header checks (RFC 9101 §4, §6.1, §10.8)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const refused = {
      'iss another client': (_h, c) => { c.iss = env.spa.client_id; },
      'no iss': (_h, c) => { delete c.iss; },
      'client_id another client': (_h, c) => { c.client_id = env.spa.client_id; },
      'no exp': (_h, c) => { delete c.exp; },
      'exp more than an hour ahead': (_h, c) => { c.exp = now + 3700; },
      'exp a string': (_h, c) => { c.exp = String(now + 60); },
      'nbf in the future': (_h, c) => { c.nbf = now + 300; c.exp = now + 600; },
      'iat in the future': (_h, c) => { c.iat = now + 300; },
      'typ at+jwt': (h) => { h.typ = 'at+jwt'; },
      'request_uri inside': (_h, c) => { c.request_uri = `${REQUEST_URI_PREFIX}x`; },
      'request inside': (_h, c) => { c.request = 'a.b.c'; },
    };
    for (const [name, modify] of Object.entries(refused)) {
      await labelled(name, async () => {
        const a = await authorizationRequest(env.web);
        await assertParRefused(as, env.web,
          await push(env.web, { request: await requestObject(env.web, a, keys.es, modify) }));
      });
    }
    const accepted = {
      'typ JWT': (h) => { h.typ = 'JWT'; },
      'no typ': (h) => { delete h.typ; },
      'no jti, iat or nbf': (_h, c) => { delete c.jti; delete c.iat; delete c.nbf; },
      'no client_id claim': (_h, c) => { delete c.client_id; },
      'aud an array naming the issuer': (_h, c) => { c.aud = ['https://other.example', as.issuer]; },
      'exp just under an hour ahead': (_h, c) => { c.exp = now + 3500; },
    };
    for (const [name, modify] of Object.entries(accepted)) {
      const a = await authorizationRequest(env.web);
      const response = await push(env.web, { request: await requestObject(env.web, a, keys.es, modify) });
      assert.equal(response.status, 201, `${name}: ${await response.clone().text()}`);
      await assertPushed(response);
    }
  });

  test('unsigned (alg none) and HMAC objects, even with the client secret, are refused', async () => {
    const a = await authorizationRequest(env.web);
    const now = Math.floor(Date.now() / 1000);
    const claims = { ...a.params, client_id: env.web.client_id, iss: env.web.client_id, aud: as.issuer,
      iat: now, exp: now + 60 };
    const unsigned = new jose.UnsecuredJWT(claims).encode();
    const hmac = await new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', typ: 'oauth-authz-req+jwt' })
      .sign(new TextEncoder().encode(env.web.client_secret));
    const jar = await signedInJar();
    for (const request of [unsigned, hmac]) {
      await assertParRefused(as, env.web, await push(env.web, { request }));
      assertObjectErrorPage(await visit(jar, byValueUrl(as, env.web.client_id, request).href));
    }
  });

  test("a client without registered keys cannot use request objects; another client's object is refused", async () => {
    const jar = await signedInJar(env.plain);
    // jar-plain's object, signed by a key it never registered.
    const a = await authorizationRequest(env.plain);
    const request = await requestObject(env.plain, a, keys.es);
    await assertParRefused(as, env.plain, await push(env.plain, { request }));
    assertObjectErrorPage(await visit(jar, byValueUrl(as, env.plain.client_id, request).href));
    // jar-web's valid object, presented as jar-spa's: iss and the keys are jar-web's.
    const b = await authorizationRequest(env.web);
    const webObject = await requestObject(env.web, b);
    assertObjectErrorPage(await visit(jar, byValueUrl(as, env.spa.client_id, webObject).href));
    const asSpa = await oauth.pushedAuthorizationRequest(as, cc(env.spa), oauth.None(),
      { request: webObject }, insecure);
    await assertParRefused(as, env.spa, asSpa);
  });

  test('a jti is single-use: the same object a second time is refused, at either endpoint', async () => {
    const jar = await signedInJar();
    const a = await authorizationRequest(env.web);
    const request = await requestObject(env.web, a);
    assert.ok(jose.decodeJwt(request).jti);
    const first = await signIn(byValueUrl(as, env.web.client_id, request).href, env.user, { jar });
    assert.ok(first.location?.searchParams.get('code'), `no code: ${first.location ?? first.page?.status}`);
    assertObjectErrorPage(await visit(jar, byValueUrl(as, env.web.client_id, request).href));
    await assertParRefused(as, env.web, await push(env.web, { request }));
    // Pushed first, then again.
    const b = await authorizationRequest(env.web);
    const pushedOnce = await requestObject(env.web, b);
    await assertPushed(await push(env.web, { request: pushedOnce }));
    await assertParRefused(as, env.web, await push(env.web, { request: pushedOnce }));
    assertObjectErrorPage(await visit(jar, byValueUrl(as, env.web.client_id, pushedOnce).href));
  });

  test('request and request_uri together get an error page', async () => {
    const a = await authorizationRequest(env.web);
    const response = await push(env.web, { request: await requestObject(env.web, a) });
    const pushed = await assertPushed(response);
    const url = pushedUrl(as, env.web.client_id, pushed.request_uri);
    url.searchParams.set('request', await requestObject(env.web, await authorizationRequest(env.web)));
    const page = await visit(await signedInJar(), url.href);
    assert.equal(page.status, 400, page.text.slice(0, 300));
    assert.equal(page.response.headers.get('location'), null);
  });

  // openid-client 6: buildAuthorizationUrlWithJAR signs with oauth4webapi's issueRequestObject.
  async function openidConfig(c) {
    const auth = c.client_secret ? client.ClientSecretBasic(c.client_secret) : client.None();
    return client.discovery(new URL(env.issuer), c.client_id, c.client_secret, auth,
      { execute: [client.allowInsecureRequests] });
  }

  test('openid-client: buildAuthorizationUrlWithJAR by value, and its object pushed with buildAuthorizationUrlWithPAR', async () => {
    const config = await openidConfig(env.web);
    assert.equal(config.serverMetadata().request_parameter_supported, true);
    for (const viaPar of [false, true]) {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const params = {
        redirect_uri: env.web.redirect_uris[0], scope: 'openid profile', state, nonce,
        code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256',
      };
      let url = await client.buildAuthorizationUrlWithJAR(config, params, { key: keys.ps.key, kid: keys.ps.kid });
      assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request']);
      if (viaPar) {
        url = await client.buildAuthorizationUrlWithPAR(config, { request: url.searchParams.get('request') });
        assert.deepEqual([...url.searchParams.keys()].sort(), ['client_id', 'request_uri']);
      }
      const r = await signIn(url.href, env.user, { jar: new CookieJar() });
      assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text.slice(0, 300)}`);
      const tokens = await client.authorizationCodeGrant(config, r.location,
        { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce, idTokenExpected: true });
      assert.equal(tokens.scope, 'openid profile');
      assert.equal(tokens.claims().nonce, nonce);
      const info = await client.fetchUserInfo(config, tokens.access_token, tokens.claims().sub);
      assert.equal(info.preferred_username, env.user.username);
    }
  });

  test('openid-client: an object signed by an unregistered key surfaces as invalid_request_object at PAR', async () => {
    const config = await openidConfig(env.web);
    const url = await client.buildAuthorizationUrlWithJAR(config, {
      redirect_uri: env.web.redirect_uris[0], scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()),
      code_challenge_method: 'S256',
    }, { key: keys.rogue.key, kid: keys.es.kid });
    await assert.rejects(client.buildAuthorizationUrlWithPAR(config, { request: url.searchParams.get('request') }),
      (e) => e.error === 'invalid_request_object' && e.status === 400);
  });
});
