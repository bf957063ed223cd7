// OpenID CIBA Core 1.0 in poll mode at a `tessera serve` of the as role with a real, unmodified
// client library: oauth4webapi 3 (strict). The client's side (the authentication request at
// /bc-authorize, polling the token endpoint with authorization_pending, slow_down, the tokens
// once, the §13 errors) runs in the library; the user's side walks the server's pages over HTTP
// with a cookie jar: sign-in (through a web client's code flow), the inbox at /ciba, its link to
// the device pages, consent with the binding message (allowed or denied). A request naming one
// user cannot be decided by another user's browser. One poll waits out the server's interval
// after a slow_down, so this file takes about eleven seconds. The only relaxation is
// allowInsecureRequests: plain http on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import * as jose from 'jose';
import * as oauth from 'oauth4webapi';
import { BIN } from '../lib/tessera.mjs';
import { CookieJar, signIn, visit } from '../lib/login.mjs';
import {
  accessTokenClaims, authorizationRequest, authorizationUrl, clientAuth, insecure, refusedWith,
  startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const CIBA = 'urn:openid:params:grant-type:ciba';

describe('tessera serve: client-initiated backchannel authentication (CIBA, poll mode)', () => {
  let as;
  const env = startInteropServe('tessera-ciba-', {
    clients: () => ({
      desk: ['--id', 'ciba-desk', '--type', 'confidential', '--auth-method', 'client_secret_basic',
        '--grant-type', CIBA, '--grant-type', 'refresh_token', '--scope', 'openid profile'],
      service: ['--id', 'ciba-service', '--type', 'confidential',
        '--grant-type', 'client_credentials', '--scope', 'openid'],
      web: ['--id', 'ciba-web', '--redirect-uri', 'https://app.example/cb', '--scope', 'openid'],
    }),
    user: 'erin',
    users: ['frank'],
  }, (serve) => {
    as = serve.as;
  });

  const cc = (c) => ({ client_id: c.client_id });
  // §7.1 the authentication request, §7.3 its answer.
  const ask = async (c, params) => oauth.processBackchannelAuthenticationResponse(as, cc(c),
    await oauth.backchannelAuthenticationRequest(as, cc(c), clientAuth(c), params, insecure));
  // §10.1 the token request, §10.1.1 / §11 its answer.
  const poll = async (c, request) => oauth.processBackchannelAuthenticationGrantResponse(as, cc(c),
    await oauth.backchannelAuthenticationGrantRequest(as, cc(c), clientAuth(c), request.auth_req_id,
      insecure));
  // A binding message no other request of this file shows.
  const bindingMessage = (what) => `${what} ${randomBytes(4).toString('hex')}`;

  // `user` signs in on the server in a fresh cookie jar, through the web client's code flow (as
  // the demo's users do through its SPA). Returns the jar.
  async function signedIn(user) {
    const jar = new CookieJar();
    const a = await authorizationRequest(env.web, { scope: 'openid' });
    const r = await signIn(authorizationUrl(as, env.web.client_id, a.params).href, user, { jar });
    assert.ok(r.location?.searchParams.get('code'),
      `no code: ${r.location ?? `${r.page?.status} ${r.page?.text.slice(0, 300)}`}`);
    return jar;
  }

  // The requests waiting for the signed-in user at /ciba, each with the client it names, the
  // binding message it shows and its link.
  async function inbox(jar) {
    const page = await visit(jar, `${as.issuer}/ciba`);
    assert.equal(page.status, 200, page.text);
    const sections = page.text.matchAll(/<section class="detail">([\s\S]*?)<\/section>/g);
    return [...sections].map(([, s]) => ({
      client: /<h2>([^<]*)<\/h2>/.exec(s)?.[1],
      message: /It shows: <strong>([^<]*)<\/strong>/.exec(s)?.[1],
      link: /<a href="([^"]*)"/.exec(s)?.[1]?.replace(/&amp;/g, '&'),
    }));
  }

  // The entry at /ciba for the request that shows `message`.
  async function waiting(jar, message) {
    const entries = await inbox(jar);
    const entry = entries.find((e) => e.message === message);
    assert.ok(entry, `no request showing ${message} at /ciba: ${JSON.stringify(entries)}`);
    return entry;
  }

  let idToken;  // of the approved request, the hint of the last test

  test('discovery (oauth4webapi): the backchannel endpoint, poll mode, the grant type (§4)', async () => {
    const issuer = new URL(env.issuer);
    const metadata = await oauth.processDiscoveryResponse(issuer,
      await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
    assert.equal(metadata.backchannel_authentication_endpoint, `${env.issuer}/bc-authorize`);
    assert.deepEqual(metadata.backchannel_token_delivery_modes_supported, ['poll']);
    assert.equal(metadata.backchannel_user_code_parameter_supported, false);
    assert.ok(metadata.grant_types_supported.includes(CIBA),
      metadata.grant_types_supported.join(' '));
  });

  test('approved: pending, slow_down, the user allows from /ciba, the tokens once', async () => {
    const message = bindingMessage('Desk');
    const request = await ask(env.desk,
      { scope: 'openid profile', login_hint: env.user.username, binding_message: message });
    assert.match(request.auth_req_id, /^[A-Za-z0-9_-]{43,}$/);
    assert.equal(request.expires_in, 600);
    assert.equal(request.interval, 5);

    // §7.3 / §11: nobody has decided; polling again at once is too fast.
    await assert.rejects(poll(env.desk, request), refusedWith('authorization_pending'));
    await assert.rejects(poll(env.desk, request), refusedWith('slow_down'));

    // The inbox is the signed-in user's only.
    const anonymous = await visit(new CookieJar(), `${as.issuer}/ciba`);
    assert.equal(anonymous.status, 401);
    assert.doesNotMatch(anonymous.text, new RegExp(message));

    // The user: signs in, finds the request at /ciba, follows its link (the device pages with the
    // request's code, prefilled), and allows on the consent page, which shows the same message.
    const jar = await signedIn(env.user);
    const entry = await waiting(jar, message);
    assert.equal(entry.client, env.desk.client_id);
    const letter = '[BCDFGHJKLMNPQRSTVWXZ]';
    assert.match(entry.link,
      new RegExp(`^${env.issuer}/device\\?user_code=${letter}{4}-${letter}{4}$`));
    const r = await signIn(entry.link, env.user, { jar });
    assert.deepEqual(r.pages, ['device', 'consent'], 'signed in already; consent is asked anyway');
    assert.ok(r.shown.consent.includes(message), r.shown.consent);
    assert.equal(r.page.status, 200);
    assert.match(r.page.text, /Request approved/);

    // A client keeping to §7.3's interval, which grew by 5 seconds with the slow_down.
    await sleep((request.interval + 5) * 1000 + 500);
    const result = await poll(env.desk, request);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'openid profile');
    assert.equal(typeof result.refresh_token, 'string');
    // oauth4webapi validated the ID token's claims (iss, aud, exp, iat); who it names:
    const claims = oauth.getValidatedIdTokenClaims(result);
    assert.equal(claims.sub, env.user.id);
    assert.equal(claims.aud, env.desk.client_id);
    assert.equal(claims.iss, as.issuer);
    // Its signature too, which oauth4webapi leaves to the TLS channel.
    const jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
    const verified = await jose.jwtVerify(result.id_token, jwks,
      { issuer: as.issuer, audience: env.desk.client_id });
    assert.equal(verified.payload.sub, env.user.id);
    const access = await accessTokenClaims(as, result.access_token);
    assert.equal(access.sub, env.user.id);
    assert.equal(access.client_id, env.desk.client_id);
    idToken = result.id_token;

    // §10.1: the auth_req_id is good once.
    await assert.rejects(poll(env.desk, request), refusedWith('invalid_grant'));

    // The refresh token works like any other, for the same user.
    const refreshed = await oauth.processRefreshTokenResponse(as, cc(env.desk),
      await oauth.refreshTokenGrantRequest(as, cc(env.desk), clientAuth(env.desk),
        result.refresh_token, insecure));
    assert.equal((await accessTokenClaims(as, refreshed.access_token)).sub, env.user.id);
  });

  test('denied on the consent page: the poll is access_denied', async () => {
    const message = bindingMessage('Refund');
    const request = await ask(env.desk,
      { scope: 'openid', login_hint: env.user.username, binding_message: message });
    const jar = await signedIn(env.user);
    const entry = await waiting(jar, message);
    const r = await signIn(entry.link, env.user, { jar, decision: 'deny' });
    assert.deepEqual(r.pages, ['device', 'consent']);
    assert.ok(r.shown.consent.includes(message), r.shown.consent);
    assert.match(r.page.text, /Request denied/);
    await assert.rejects(poll(env.desk, request), refusedWith('access_denied'));
  });

  test('another user\'s browser: the sign-in page, never consent; the request stays pending', async () => {
    const frank = env.users.frank;
    const message = bindingMessage('Transfer');
    const request = await ask(env.desk,
      { scope: 'openid', login_hint: frank.username, binding_message: message });

    // Frank sees it; erin does not, and her browser is given frank's link.
    const frankJar = await signedIn(frank);
    const entry = await waiting(frankJar, message);
    const erinJar = await signedIn(env.user);
    assert.ok(!(await inbox(erinJar)).some((e) => e.message === message), 'listed to erin');

    // Erin is signed in, yet the server asks for a sign-in, and erin signing in is not enough.
    const r = await signIn(entry.link, env.user, { jar: erinJar });
    assert.deepEqual(r.pages, ['device', 'login'], 'erin reached a consent page');
    assert.doesNotMatch(r.shown.login, /name="decision"/);
    assert.match(r.shown.login, /name="password"/);
    assert.doesNotMatch(r.page.text, /name="decision"/);
    assert.match(r.page.text, /not connected/);
    await assert.rejects(poll(env.desk, request), refusedWith('authorization_pending'));

    // The request is still frank's to decide.
    const f = await signIn(entry.link, frank, { jar: frankJar });
    assert.deepEqual(f.pages, ['device', 'consent']);
    assert.match(f.page.text, /Request approved/);
    const result = await poll(env.desk, request);
    assert.equal(oauth.getValidatedIdTokenClaims(result).sub, frank.id);
    assert.equal((await accessTokenClaims(as, result.access_token)).sub, frank.id);
  });

  test('§13: unknown_user_id, invalid_binding_message, invalid_scope, unauthorized_client', async () => {
    const user = env.user.username;
    await assert.rejects(ask(env.desk, { scope: 'openid', login_hint: 'nobody-by-that-name' }),
      refusedWith('unknown_user_id'));
    await assert.rejects(
      ask(env.desk, { scope: 'openid', login_hint: user, binding_message: 'x'.repeat(65) }),
      refusedWith('invalid_binding_message'));
    const longest = await ask(env.desk,
      { scope: 'openid', login_hint: user, binding_message: 'x'.repeat(64) });
    assert.equal(typeof longest.auth_req_id, 'string');
    await assert.rejects(ask(env.desk, { scope: 'profile', login_hint: user }),
      refusedWith('invalid_scope'));
    await assert.rejects(ask(env.service, { scope: 'openid', login_hint: user }),
      refusedWith('unauthorized_client'));
  });

  test('id_token_hint: an ID token of the server names the user to ask', async () => {
    assert.ok(idToken, 'the approved request gave no ID token');
    const message = bindingMessage('Hint');
    const request = await ask(env.desk,
      { scope: 'openid', id_token_hint: idToken, binding_message: message });
    assert.match(request.auth_req_id, /^[A-Za-z0-9_-]{43,}$/);
    assert.equal(request.interval, 5);
    // It is erin's (the ID token's sub) to decide, nobody else's.
    await waiting(await signedIn(env.user), message);
    assert.ok(!(await inbox(await signedIn(env.users.frank))).some((e) => e.message === message),
      'listed to frank');
  });
});
