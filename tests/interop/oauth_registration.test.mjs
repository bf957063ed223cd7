// Dynamic client registration (RFC 7591) and its management protocol (RFC 7592) at a `tessera
// serve` of the as role, with real, unmodified client libraries: openid-client 6
// (dynamicClientRegistration, then client credentials with what it registered) and oauth4webapi 3
// (dynamicClientRegistrationRequest, processDynamicClientRegistrationResponse, then the code flow
// of the registered public client through the server's pages), and software statements (§2.3)
// signed with jose by a publisher whose JWKS this test serves over HTTP on 127.0.0.1. Initial
// access tokens come from `tessera client initial-token create` on the running server's store.
// Checked: the registered credentials work at the token endpoint; the refusals of §3 (no, wrong,
// revoked or used-up initial access token: 401, its uses spent atomically; invalid_redirect_uri,
// invalid_client_metadata, invalid_software_statement, unapproved_software_statement: 400)
// register nothing and spend no use of the token; RFC 7592 read, update (full replacement) and
// delete with the registration access token, and only with that client's, after which its
// credentials and refresh tokens are dead; and a second server with open registration that
// requires a statement. The only relaxation is allowInsecureRequests: plain http on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import * as jose from 'jose';
import { BIN, ok, tessera } from '../lib/tessera.mjs';
import { signIn } from '../lib/login.mjs';
import {
  authorizationRequest, authorizationUrl, insecure, jwksPublisher, redeemCode, startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const PUBLISHER = 'https://publisher.example';
const API = 'https://api.example';

// The publisher's key and its JWKS, served by this test; a key of no one's.
const publisher = await jwksPublisher('publisher-1');

describe('tessera serve with dynamic client registration', () => {
  let as;
  const env = startInteropServe('tessera-registration-', {
    asExtra: () => [
      'scopes_supported: [openid, profile, invoices:read]',
      'registration:',
      '  scopes: [openid, profile]',
      `  audiences: [${API}]`,
      '  software_statement_issuers:',
      `    - issuer: ${PUBLISHER}`,
      `      jwks_uri: ${publisher.jwksUri()}`,
    ],
    user: 'dana',
  }, (serve) => {
    as = serve.as;
  });

  // The CLI on the running server's store.
  const cli = (...args) => ok([...args, '--config', join(env.dir, 'store.yaml')]);
  const initialToken = (uses = 1) => JSON.parse(cli('client', 'initial-token', 'create', '--uses', String(uses),
    '--label', 'interop', '--json'));
  const usesLeft = (id) => JSON.parse(cli('client', 'initial-token', 'list', '--json'))
    .find((t) => t.id === id)?.uses_left;
  const clientCount = () => JSON.parse(cli('client', 'list', '--json')).length;

  // A registration request by hand: `body` (JSON unless a string) with `token` as the initial
  // access token (none when undefined).
  const register = (body, token, contentType = 'application/json') => fetch(as.registration_endpoint, {
    method: 'POST',
    headers: {
      'content-type': contentType, accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // An RFC 7592 request at a client configuration endpoint.
  const manage = (uri, token, method = 'GET', body) => fetch(uri, {
    method,
    headers: {
      accept: 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  // Registers `metadata` with a fresh one-use initial access token through oauth4webapi.
  const registered = async (metadata) => oauth.processDynamicClientRegistrationResponse(
    await oauth.dynamicClientRegistrationRequest(as, metadata,
      { initialAccessToken: initialToken().token, ...insecure }));
  // Client credentials for `c` (client_id, client_secret) with client_secret_basic.
  const clientCredentials = (c, params = {}) => oauth.clientCredentialsGrantRequest(as, { client_id: c.client_id },
    oauth.ClientSecretBasic(c.client_secret), params, insecure);
  const challenge = (response) => response.headers.get('www-authenticate') ?? '';
  const statement = (claims, { key = publisher.keys.privateKey, iss = PUBLISHER } = {}) => new jose.SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'publisher-1', typ: 'JWT' }).setIssuer(iss)
    .setIssuedAt().setJti(randomUUID()).sign(key);

  test('discovery lists registration_endpoint (RFC 8414 §2)', () => {
    assert.equal(as.registration_endpoint, `${env.issuer}/register`);
  });

  test('openid-client: dynamicClientRegistration, then client credentials with the registered secret', async () => {
    const before = clientCount();
    const initial = initialToken(1);
    const config = await client.dynamicClientRegistration(new URL(env.issuer), {
      grant_types: ['client_credentials'], scope: 'profile', token_endpoint_auth_method: 'client_secret_basic',
      client_name: 'Interop service', 'client_name#fr': 'Service d\'interop',
    }, client.ClientSecretBasic(), { initialAccessToken: initial.token, execute: [client.allowInsecureRequests] });
    const meta = config.clientMetadata();
    assert.match(meta.client_id, /^[A-Za-z0-9_-]{16,}$/);
    assert.equal(typeof meta.client_secret, 'string');
    assert.ok(meta.client_secret.length >= 32, 'a client secret of at least 256 bits');
    assert.equal(meta.client_secret_expires_at, 0);
    assert.ok(Math.abs(meta.client_id_issued_at - Date.now() / 1000) < 60, String(meta.client_id_issued_at));
    assert.equal(meta.token_endpoint_auth_method, 'client_secret_basic');
    assert.deepEqual(meta.grant_types, ['client_credentials']);
    assert.equal(meta.scope, 'profile');
    // RFC 7591 §2 display metadata is kept and returned; §2.2 language-tagged variants are not.
    assert.equal(meta.client_name, 'Interop service');
    assert.equal(meta['client_name#fr'], undefined, 'unknown members are not echoed');
    assert.equal(meta.registration_client_uri, `${env.issuer}/register/${meta.client_id}`);
    assert.equal(typeof meta.registration_access_token, 'string');
    assert.equal(clientCount(), before + 1);
    assert.equal(usesLeft(initial.id), 0, 'the registration spent the token\'s one use');

    const tokens = await client.clientCredentialsGrant(config, { scope: 'profile' });
    assert.equal(tokens.token_type, 'bearer');
    assert.equal(tokens.scope, 'profile');
    const { payload } = await jose.jwtVerify(tokens.access_token,
      jose.createRemoteJWKSet(new URL(as.jwks_uri)), { typ: 'at+jwt', issuer: as.issuer, audience: API });
    assert.equal(payload.sub, meta.client_id);
    assert.equal(payload.client_id, meta.client_id);
    assert.equal(payload.scope, 'profile');
  });

  test('oauth4webapi: a public client registers, then runs the code flow with PKCE', async () => {
    const meta = await registered({
      token_endpoint_auth_method: 'none', redirect_uris: ['https://app.example/cb', 'http://127.0.0.1:9/cb'],
      grant_types: ['authorization_code', 'refresh_token'], response_types: ['code'],
      post_logout_redirect_uris: ['https://app.example/bye'], logo_uri: 'https://x.example/l.png',
    });
    assert.equal(meta.token_endpoint_auth_method, 'none');
    assert.equal(meta.client_secret, undefined, 'a public client gets no secret');
    assert.equal(meta.client_secret_expires_at, undefined);
    assert.equal(meta.client_id_issued_at, Math.trunc(meta.client_id_issued_at));
    assert.deepEqual(meta.redirect_uris, ['https://app.example/cb', 'http://127.0.0.1:9/cb']);
    assert.deepEqual(meta.post_logout_redirect_uris, ['https://app.example/bye']);
    assert.deepEqual(meta.grant_types, ['authorization_code', 'refresh_token']);
    assert.deepEqual(meta.response_types, ['code']);
    assert.equal(meta.scope, 'openid profile', 'no scope asked: the registration scopes');
    assert.equal(meta.logo_uri, 'https://x.example/l.png');
    assert.equal(meta.registration_client_uri, `${env.issuer}/register/${meta.client_id}`);
    assert.equal(typeof meta.registration_access_token, 'string');

    const a = await authorizationRequest(meta);
    const r = await signIn(authorizationUrl(as, meta.client_id, a.params).href, env.user);
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text?.slice(0, 300)}`);
    assert.equal(`${r.location.origin}${r.location.pathname}`, 'https://app.example/cb');
    const result = await redeemCode(as, meta, a, r.location);
    assert.equal(result.scope, 'openid profile');
    assert.equal(typeof result.refresh_token, 'string');
    assert.equal(oauth.getValidatedIdTokenClaims(result).aud, meta.client_id);

    // RFC 7592 §2.3: deregistered, its refresh token is dead and its id unknown.
    assert.equal((await manage(meta.registration_client_uri, meta.registration_access_token, 'DELETE')).status, 204);
    const refresh = await oauth.refreshTokenGrantRequest(as, { client_id: meta.client_id }, oauth.None(),
      result.refresh_token, insecure);
    assert.equal(refresh.status, 401, await refresh.clone().text());
    assert.equal((await refresh.json()).error, 'invalid_client');
  });

  test('refusals: the initial access token (RFC 7591 §3, RFC 6750 §3) and the metadata (§3.2.2)', async () => {
    const clients = clientCount();
    const good = { redirect_uris: ['https://app.example/cb'] };

    const none = await register(good);
    assert.equal(none.status, 401);
    assert.match(challenge(none), /^Bearer realm="[^"]+"/);
    assert.doesNotMatch(challenge(none), /error=/, 'no token: a challenge without an error (RFC 6750 §3.1)');

    const wrong = await register(good, 'not-a-token-this-server-made');
    assert.equal(wrong.status, 401);
    assert.match(challenge(wrong), /^Bearer realm="[^"]+".*error="invalid_token"/);

    const once = initialToken(1);
    assert.equal((await register(good, once.token)).status, 201);
    const usedUp = await register(good, once.token);
    assert.equal(usedUp.status, 401, await usedUp.clone().text());
    assert.match(challenge(usedUp), /error="invalid_token"/);
    assert.equal(clientCount(), clients + 1);

    // The uses are spent atomically: of five concurrent registrations with a two-use token, two win.
    const twice = initialToken(2);
    const raced = await Promise.all(Array.from({ length: 5 }, () => register(good, twice.token)));
    assert.deepEqual(raced.map((r) => r.status).sort(), [201, 201, 401, 401, 401]);
    assert.equal(usesLeft(twice.id), 0);
    assert.equal(clientCount(), clients + 3);

    const revoked = initialToken(5);
    cli('client', 'initial-token', 'revoke', revoked.id);
    const afterRevoke = await register(good, revoked.token);
    assert.equal(afterRevoke.status, 401);
    assert.match(challenge(afterRevoke), /error="invalid_token"/);

    const charset = await register(good, initialToken().token, 'application/json; charset=utf-8');
    assert.equal(charset.status, 201, await charset.clone().text());
    assert.equal(charset.headers.get('cache-control'), 'no-store');
    assert.equal(charset.headers.get('pragma'), 'no-cache');
    assert.match(charset.headers.get('content-type'), /^application\/json/);
    assert.equal(clientCount(), clients + 4);

    const token = initialToken(3);
    const cases = [
      ['an http redirect URI off loopback', { redirect_uris: ['http://evil.example/cb'] }, 'invalid_redirect_uri'],
      ['a redirect URI with a fragment', { redirect_uris: ['https://app.example/cb#x'] }, 'invalid_redirect_uri'],
      ['a scope outside the registration scopes', { ...good, scope: 'openid invoices:read' },
        'invalid_client_metadata'],
      ['the token exchange grant', { grant_types: ['urn:ietf:params:oauth:grant-type:token-exchange'] },
        'invalid_client_metadata'],
      ['the JWT bearer grant', { grant_types: ['urn:ietf:params:oauth:grant-type:jwt-bearer'] },
        'invalid_client_metadata'],
      ['an http jwks_uri (loopback included: no fetches of local services)',
        { ...good, jwks_uri: 'http://127.0.0.1:9/jwks' }, 'invalid_client_metadata'],
      ['private_key_jwt without jwks', { ...good, token_endpoint_auth_method: 'private_key_jwt' },
        'invalid_client_metadata'],
      ['redirect_uris not an array', { redirect_uris: 'https://app.example/cb' }, 'invalid_client_metadata'],
      ['a boolean that is a string', { ...good, dpop_bound_access_tokens: 'yes' }, 'invalid_client_metadata'],
      ['an unknown token_endpoint_auth_method', { ...good, token_endpoint_auth_method: 'magic' },
        'invalid_client_metadata'],
    ];
    for (const [name, body, code] of cases) {
      const response = await register(body, token.token);
      assert.equal(response.status, 400, `${name}: ${await response.clone().text()}`);
      assert.equal(response.headers.get('cache-control'), 'no-store', name);
      const error = await response.json();
      assert.equal(error.error, code, `${name}: ${error.error_description}`);
      assert.equal(typeof error.error_description, 'string', name);
    }
    // oauth4webapi sees the same refusal as a ResponseBodyError.
    await assert.rejects(oauth.processDynamicClientRegistrationResponse(await oauth.dynamicClientRegistrationRequest(
      as, { redirect_uris: ['http://evil.example/cb'] }, { initialAccessToken: token.token, ...insecure })),
    (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === 'invalid_redirect_uri');
    const form = await register('redirect_uris=https%3A%2F%2Fapp.example%2Fcb', token.token,
      'application/x-www-form-urlencoded');
    assert.equal(form.status, 400);
    assert.equal((await form.json()).error, 'invalid_client_metadata');
    const array = await register('[]', token.token);
    assert.equal(array.status, 400);
    assert.equal((await array.json()).error, 'invalid_client_metadata');

    assert.equal(clientCount(), clients + 4, 'no refused request registered a client');
    assert.equal(usesLeft(token.id), 3, 'no refused request spent a use of the initial access token');
  });

  test('RFC 7592: read, update and delete with the registration access token, and only with it', async () => {
    const metadata = {
      redirect_uris: ['https://app.example/cb'], grant_types: ['authorization_code', 'client_credentials'],
      response_types: ['code'], scope: 'openid profile', token_endpoint_auth_method: 'client_secret_basic',
    };
    const c = await registered(metadata);
    const other = await registered({ grant_types: ['client_credentials'] });
    const uri = c.registration_client_uri;
    assert.equal(uri, `${env.issuer}/register/${c.client_id}`);

    // §2.1 read: the registration as it was answered, without the secret.
    const read = await manage(uri, c.registration_access_token);
    assert.equal(read.status, 200);
    assert.equal(read.headers.get('cache-control'), 'no-store');
    const got = await read.json();
    assert.equal(got.client_id, c.client_id);
    assert.equal(got.client_secret, undefined, 'the secret is not shown again');
    assert.equal(got.client_id_issued_at, c.client_id_issued_at);
    assert.equal(got.registration_client_uri, uri);
    assert.equal(got.registration_access_token, c.registration_access_token);
    for (const member of ['redirect_uris', 'grant_types', 'response_types', 'scope', 'token_endpoint_auth_method']) {
      assert.deepEqual(got[member], c[member], member);
    }

    // Not this client's token, or none: 401 (RFC 6750 §3.1).
    for (const [name, token] of [['another client\'s', other.registration_access_token],
      ['an unknown', 'x'.repeat(43)], ['the client secret as', c.client_secret]]) {
      for (const method of ['GET', 'PUT', 'DELETE']) {
        const response = await manage(uri, token, method, method === 'PUT' ? { ...metadata, client_id: c.client_id }
          : undefined);
        assert.equal(response.status, 401, `${method} with ${name} token`);
        assert.match(challenge(response), /error="invalid_token"/, `${method} with ${name} token`);
      }
    }
    const anonymous = await manage(uri);
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(challenge(anonymous), /error=/);
    const elsewhere = await manage(`${env.issuer}/register/${other.client_id}`, c.registration_access_token);
    assert.equal(elsewhere.status, 401, 'its token at another client\'s URI');

    // §2.2 update: the metadata replaced, the secret kept.
    let token = c.registration_access_token;
    const updated = await manage(uri, token, 'PUT', {
      ...metadata, client_id: c.client_id, client_secret: c.client_secret,
      redirect_uris: ['https://app.example/new-cb'], scope: 'openid',
    });
    assert.equal(updated.status, 200, await updated.clone().text());
    const now = await updated.json();
    assert.deepEqual(now.redirect_uris, ['https://app.example/new-cb']);
    assert.equal(now.scope, 'openid');
    assert.equal(now.client_id, c.client_id);
    assert.equal(now.registration_client_uri, uri);
    // §3: the answer carries a new registration access token, and the one used is spent.
    assert.equal(typeof now.registration_access_token, 'string');
    assert.notEqual(now.registration_access_token, token, 'the token is rotated on update');
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const spent = await manage(uri, token, method, method === 'PUT' ? { ...metadata, client_id: c.client_id }
        : undefined);
      assert.equal(spent.status, 401, `${method} with the token the update replaced`);
      assert.match(challenge(spent), /error="invalid_token"/);
    }
    token = now.registration_access_token;
    const reread = await (await manage(uri, token)).json();
    assert.deepEqual(reread.redirect_uris, ['https://app.example/new-cb']);
    assert.equal(reread.registration_access_token, token, 'a read does not rotate the token');
    const cc = await oauth.processClientCredentialsResponse(as, { client_id: c.client_id },
      await clientCredentials(c, { scope: 'openid' }));
    assert.equal(cc.scope, 'openid');
    const narrowed = await clientCredentials(c, { scope: 'profile' });
    assert.equal(narrowed.status, 400, 'profile was dropped by the update');
    assert.equal((await narrowed.json()).error, 'invalid_scope');

    // A full replacement: a member left out takes its default.
    const replaced = await manage(uri, token, 'PUT', {
      client_id: c.client_id, redirect_uris: ['https://app.example/cb'],
    });
    assert.equal(replaced.status, 200, await replaced.clone().text());
    const defaults = await replaced.json();
    assert.deepEqual(defaults.grant_types, ['authorization_code']);
    assert.equal(defaults.scope, 'openid profile');
    assert.equal(defaults.token_endpoint_auth_method, 'client_secret_basic');
    token = defaults.registration_access_token;

    const refusals = [
      ['registration_access_token sent', { registration_access_token: token }],
      ['registration_client_uri sent', { registration_client_uri: uri }],
      ['client_secret_expires_at sent', { client_secret_expires_at: 0 }],
      ['client_id_issued_at sent', { client_id_issued_at: c.client_id_issued_at }],
      ['another client_secret', { client_secret: 'not-the-secret' }],
      ['another client_id', { client_id: other.client_id }],
      ['no client_id', { client_id: undefined }],
    ];
    for (const [name, change] of refusals) {
      const body = { ...metadata, client_id: c.client_id, ...change };
      const response = await manage(uri, token, 'PUT', body);
      assert.equal(response.status, 400, `${name}: ${await response.clone().text()}`);
      assert.equal((await response.json()).error, 'invalid_client_metadata', name);
    }
    const badUri = await manage(uri, token, 'PUT',
      { ...metadata, client_id: c.client_id, redirect_uris: ['http://evil.example/cb'] });
    assert.equal(badUri.status, 400);
    assert.equal((await badUri.json()).error, 'invalid_redirect_uri');
    assert.deepEqual((await (await manage(uri, token)).json()).redirect_uris,
      ['https://app.example/cb'], 'a refused update changed nothing');

    // An operator may not give a client that registered itself a local URI: its sets and
    // logout POSTs go to public addresses only, so such a URI would fail every time.
    for (const option of ['--jwks-uri', '--backchannel-logout-uri']) {
      const refused = tessera(['client', 'update', c.client_id, option, 'http://127.0.0.1:9/x',
        '--config', join(env.dir, 'store.yaml')]);
      assert.equal(refused.status, 2, `${option}: ${refused.stderr}`);
      assert.match(refused.stderr, /must use https|public addresses/, option);
    }

    // A client that lost an update's answer (and so its new token) gets one from an operator.
    const reissued = JSON.parse(cli('client', 'update', c.client_id, '--rotate-registration-token', '--json'));
    assert.match(reissued.registration_access_token, /^[A-Za-z0-9_-]{43}$/);
    assert.equal((await manage(uri, token)).status, 401, 'the token the operator replaced');
    token = reissued.registration_access_token;
    assert.equal((await manage(uri, token)).status, 200);
    assert.ok(!cli('client', 'show', c.client_id, '--json').includes(token), 'only its hash is kept');

    // §2.3 delete: 204, then the registration and the credentials are gone.
    const gone = await manage(uri, token, 'DELETE');
    assert.equal(gone.status, 204);
    assert.equal(await gone.text(), '');
    const readAgain = await manage(uri, token);
    assert.equal(readAgain.status, 401);
    assert.match(challenge(readAgain), /error="invalid_token"/);
    const refused = await clientCredentials(c, { scope: 'openid' });
    assert.equal(refused.status, 401);
    assert.equal((await refused.json()).error, 'invalid_client');
    assert.equal((await manage(other.registration_client_uri, other.registration_access_token)).status, 200,
      'the other client is still there');
  });

  test('software statements (RFC 7591 §2.3): the publisher\'s claims win; others are refused', async () => {
    const token = initialToken(5);
    const clients = clientCount();
    const signed = await statement({ scope: 'openid', software_id: 'app-4711' });
    const response = await register({
      redirect_uris: ['https://app.example/cb'], scope: 'openid profile', software_statement: signed,
    }, token.token);
    assert.equal(response.status, 201, await response.clone().text());
    const meta = await oauth.processDynamicClientRegistrationResponse(response);
    assert.equal(meta.scope, 'openid', 'the statement\'s scope wins over the JSON member');
    assert.deepEqual(meta.redirect_uris, ['https://app.example/cb']);
    assert.ok(publisher.requests >= 1, 'the server fetched the publisher\'s JWKS');

    // The statement's redirect_uris win too, and are checked like any.
    const viaStatement = await register({
      redirect_uris: ['https://app.example/cb'],
      software_statement: await statement({ redirect_uris: ['https://publisher-app.example/cb'] }),
    }, token.token);
    assert.equal(viaStatement.status, 201, await viaStatement.clone().text());
    assert.deepEqual((await viaStatement.json()).redirect_uris, ['https://publisher-app.example/cb']);
    assert.equal(clientCount(), clients + 2);

    const cases = [
      ['signed by another key', await statement({ scope: 'openid' }, { key: publisher.rogue.privateKey }),
        'invalid_software_statement'],
      ['from an issuer that is not configured',
        await statement({ scope: 'openid' }, { iss: 'https://elsewhere.example' }),
        'unapproved_software_statement'],
      ['not a JWT', 'not.a-jwt', 'invalid_software_statement'],
      ['a symmetric (HS256) signature', await new jose.SignJWT({ scope: 'openid' })
        .setProtectedHeader({ alg: 'HS256', kid: 'publisher-1' }).setIssuer(PUBLISHER).setIssuedAt()
        .sign(new TextEncoder().encode('a-shared-secret-of-at-least-32-bytes!')), 'invalid_software_statement'],
      ['expired', await new jose.SignJWT({ scope: 'openid' })
        .setProtectedHeader({ alg: 'ES256', kid: 'publisher-1' }).setIssuer(PUBLISHER)
        .setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600)
        .sign(publisher.keys.privateKey), 'invalid_software_statement'],
      ['a statement whose scope is outside', await statement({ scope: 'invoices:read' }), 'invalid_client_metadata'],
    ];
    for (const [name, jwt, code] of cases) {
      const refused = await register({ redirect_uris: ['https://app.example/cb'], software_statement: jwt },
        token.token);
      assert.equal(refused.status, 400, `${name}: ${await refused.clone().text()}`);
      assert.equal((await refused.json()).error, code, name);
    }
    assert.equal(clientCount(), clients + 2, 'no refused statement registered a client');
    assert.equal(usesLeft(token.id), 3);
  });
});

describe('tessera serve with open registration that requires a software statement', () => {
  let as;
  const env = startInteropServe('tessera-registration-open-', {
    asExtra: () => [
      'scopes_supported: [openid, profile]',
      'registration:',
      '  open: true',
      '  require_software_statement: true',
      '  software_statement_issuers:',
      `    - issuer: ${PUBLISHER}`,
      `      jwks_uri: ${publisher.jwksUri()}`,
    ],
  }, (serve) => {
    as = serve.as;
  });

  test('oauth4webapi: no initial access token is needed, but a statement of the publisher is', async () => {
    const clients = JSON.parse(ok(['client', 'list', '--json', '--config', join(env.dir, 'store.yaml')])).length;
    const request = (metadata) => oauth.dynamicClientRegistrationRequest(as, metadata, insecure);
    assert.equal(as.registration_endpoint, `${env.issuer}/register`);

    const software_statement = await new jose.SignJWT({ redirect_uris: ['https://publisher-app.example/cb'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'publisher-1' }).setIssuer(PUBLISHER).setIssuedAt()
      .sign(publisher.keys.privateKey);
    const meta = await oauth.processDynamicClientRegistrationResponse(await request({ software_statement }));
    assert.deepEqual(meta.redirect_uris, ['https://publisher-app.example/cb']);
    assert.equal(meta.token_endpoint_auth_method, 'client_secret_basic');
    assert.equal(typeof meta.client_secret, 'string');
    assert.equal(meta.scope, 'openid profile', 'no registration scopes: scopes_supported');

    await assert.rejects(oauth.processDynamicClientRegistrationResponse(
      await request({ redirect_uris: ['https://app.example/cb'] })),
    (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === 'invalid_software_statement');
    assert.equal(JSON.parse(ok(['client', 'list', '--json', '--config', join(env.dir, 'store.yaml')])).length,
      clients + 1);
  });
});
