// OpenID Connect Back-Channel Logout 1.0 at a `tessera serve` of the as role, with real,
// unmodified client libraries: oauth4webapi 3 (the relying parties' code flow and refresh
// tokens) and jose (the logout token verified against the published keys). The user's side walks
// the server's login and logout pages over plain HTTP (tests/lib/login.mjs); the relying parties'
// back-channel logout endpoints are an HTTP server of this test on 127.0.0.1 that records every
// request and answers 200, or 500 for one of them. Checked: discovery and the client's
// registered backchannel_logout_uri; a session ended by RP-initiated logout (at once with an
// id_token_hint of the session, or after the confirmation form) or by another user signing in on
// the same browser sends one logout token (§2.4: typ logout+jwt, iss, aud, sub and sid of the ID
// token, iat, exp, jti, the back-channel logout event, no nonce) by form POST (§2.5) to each
// client of that session that registered a URI, and to no other client or session; the
// session's refresh tokens are dead; a client that answers 500 or cannot be reached neither
// stops the logout nor the other clients' tokens, and the user's page does not wait on a slow
// one. The only relaxation is allowInsecureRequests: plain http on 127.0.0.1.
import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';
import * as jose from 'jose';
import { BIN, freePort, ok, okAsync, waitFor } from '../lib/tessera.mjs';
import { CookieJar, parseForm, signIn, visit } from '../lib/login.mjs';
import {
  authorizationRequest, authorizationUrl, insecure, redeemCode, startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const EVENT = 'http://schemas.openid.net/event/backchannel-logout';
const SLOW_MS = 2000;

// The relying parties' back-channel logout endpoints: every request recorded (method, path,
// content type, form body); /logout/broken answers 500, /logout/slow answers 200 after SLOW_MS,
// everything else 200. Listening from here on, so the server's port is picked around it.
const received = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    received.push({
      at: Date.now(), method: req.method, path: req.url,
      contentType: req.headers['content-type'], raw: body,
      form: Object.fromEntries(new URLSearchParams(body)), fields: [...new URLSearchParams(body).keys()],
    });
    const answer = () => {
      res.writeHead(req.url === '/logout/broken' ? 500 : 200, { 'cache-control': 'no-store' });
      res.end();
    };
    if (req.url === '/logout/slow') setTimeout(answer, SLOW_MS); else answer();
  });
});
const receiverPort = await freePort(1);
await new Promise((resolve) => receiver.listen(receiverPort, '127.0.0.1', resolve));
after(() => receiver.close());
// A loopback port nothing listens on: a relying party that cannot be reached.
const deadPort = await freePort(1);
const endpoint = (name, port = receiverPort) => `http://127.0.0.1:${port}/logout/${name}`;

describe('tessera serve: OpenID Connect Back-Channel Logout 1.0', () => {
  let as;
  let jwks;
  let bob;
  const rp = (id, uri, extra = []) => ['--id', id, '--type', 'confidential',
    '--grant-type', 'authorization_code', '--grant-type', 'refresh_token',
    '--redirect-uri', `https://${id}.example/cb`, '--scope', 'openid profile offline_access',
    '--skip-consent', ...(uri ? ['--backchannel-logout-uri', uri] : []), ...extra];
  const env = startInteropServe('tessera-backchannel-', {
    clients: () => ({
      a: rp('bcl-a', endpoint('a'), ['--backchannel-logout-session-required']),
      b: rp('bcl-b'),
      c: rp('bcl-c', endpoint('broken')),
      d: rp('bcl-d', endpoint('d')),
      e: rp('bcl-e', endpoint('e', deadPort)),
      s: rp('bcl-s', endpoint('slow')),
    }),
    user: 'alice',
  }, (serve) => {
    as = serve.as;
    jwks = jose.createRemoteJWKSet(new URL(as.jwks_uri));
    bob = { username: 'bob', password: `Pw-${oauth.generateRandomState()}` };
    ok(['user', 'create', bob.username, '--password-stdin', '--json',
      '--config', join(serve.dir, 'store.yaml')], bob.password + '\n');
  });

  // `user` signs in for client `c` in `jar` (the login page only when the browser has no session
  // of that user, or with prompt=login), and the code is redeemed: the token response, its
  // validated ID token claims and the pages walked.
  async function login(c, jar, user = env.user, extra = {}) {
    const a = await authorizationRequest(c, { scope: 'openid profile offline_access', ...extra });
    const r = await signIn(authorizationUrl(as, c.client_id, a.params).href, user, { jar });
    assert.ok(r.location?.searchParams.get('code'),
      `no code: ${r.location ?? `${r.page?.status} ${r.page?.text.slice(0, 300)}`}`);
    const tokens = await redeemCode(as, c, a, r.location);
    assert.ok(tokens.refresh_token, 'offline_access gives a refresh token');
    const claims = oauth.getValidatedIdTokenClaims(tokens);
    assert.equal(typeof claims.sid, 'string');
    assert.ok(claims.sid.length > 0);
    return { tokens, claims, pages: r.pages };
  }

  const refresh = async (c, refreshToken) => oauth.processRefreshTokenResponse(as, { client_id: c.client_id },
    await oauth.refreshTokenGrantRequest(as, { client_id: c.client_id },
      oauth.ClientSecretBasic(c.client_secret), refreshToken, insecure));
  const assertDead = (c, refreshToken) => assert.rejects(refresh(c, refreshToken),
    (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === 'invalid_grant',
    `${c.client_id}'s refresh token must be revoked`);

  // OpenID RP-Initiated Logout with an ID token of the browser's session: signed out at once.
  async function endSession(jar, idToken) {
    const url = new URL(as.end_session_endpoint);
    url.searchParams.set('id_token_hint', idToken);
    return visit(jar, url.href);
  }

  // The requests the receiver got since `mark` (an index into `received`) at `name`'s endpoint.
  const at = (mark, name) => received.slice(mark).filter((r) => r.path === `/logout/${name}`);
  // Waits until every one of `names` got a request after `mark`, then a little longer so that
  // anything else queued with them has arrived too.
  async function deliveries(mark, names) {
    await waitFor(() => names.every((n) => at(mark, n).length > 0),
      `logout tokens for ${names.join(', ')}`, 10_000);
    await sleep(500);
    return received.slice(mark);
  }

  // §2.5: a form POST with the logout token alone; §2.6 checks made with jose against the
  // published keys: signature, typ logout+jwt, iss, aud (the client), iat, exp; the event; sid
  // and sub those of the ID token; no nonce. Returns the claims.
  async function assertLogoutToken(request, c, idClaims) {
    assert.equal(request.method, 'POST');
    assert.match(request.contentType ?? '', /^application\/x-www-form-urlencoded(;|$)/);
    assert.deepEqual(request.fields, ['logout_token'], request.raw);
    const token = request.form.logout_token;
    const { payload, protectedHeader } = await jose.jwtVerify(token, jwks, {
      issuer: as.issuer, audience: c.client_id, typ: 'logout+jwt',
      algorithms: as.id_token_signing_alg_values_supported, requiredClaims: ['iat', 'exp', 'jti'],
    });
    assert.equal(protectedHeader.typ, 'logout+jwt');
    assert.ok(protectedHeader.kid);
    assert.equal(payload.iss, as.issuer);
    assert.deepEqual([payload.aud].flat(), [c.client_id]);
    assert.equal(payload.sub, idClaims.sub);
    assert.equal(payload.sid, idClaims.sid);
    assert.deepEqual(payload.events, { [EVENT]: {} });
    assert.equal('nonce' in payload, false, '§2.4: a logout token has no nonce');
    assert.equal(typeof payload.iat, 'number');
    assert.ok(Math.abs(payload.iat - Date.now() / 1000) < 60, `iat ${payload.iat}`);
    assert.equal(payload.exp, payload.iat + 120);
    assert.equal(typeof payload.jti, 'string');
    assert.ok(payload.jti.length >= 16, payload.jti);
    return payload;
  }

  test('discovery and registration: back-channel logout supported, the URI stored', () => {
    assert.equal(as.backchannel_logout_supported, true);
    assert.equal(as.backchannel_logout_session_supported, true);
    assert.equal(as.end_session_endpoint, `${as.issuer}/end_session`);
    const show = (c) => JSON.parse(ok(['client', 'show', c.client_id, '--json',
      '--config', join(env.dir, 'store.yaml')]));
    const a = show(env.a);
    assert.equal(a.backchannel_logout_uri, endpoint('a'));
    assert.equal(a.backchannel_logout_session_required, true);
    assert.equal(env.a.backchannel_logout_uri, endpoint('a'), 'create --json prints it too');
    const b = show(env.b);
    assert.equal(b.backchannel_logout_uri, undefined);
    assert.equal(b.backchannel_logout_session_required, false);
    const c = show(env.c);
    assert.equal(c.backchannel_logout_uri, endpoint('broken'));
    assert.equal(c.backchannel_logout_session_required, false);
  });

  test('RP-initiated logout: one logout token for the client with a URI, none for the others; the session\'s grants are dead', async () => {
    // Alice signs in for A, then for B in the same browser (no page: the session is reused).
    const jar = new CookieJar();
    const first = await login(env.a, jar);
    assert.deepEqual(first.pages, ['login']);
    const second = await login(env.b, jar);
    assert.deepEqual(second.pages, []);
    assert.equal(second.claims.sid, first.claims.sid, 'one browser session');
    assert.equal(second.claims.sub, first.claims.sub);
    // Another browser session of alice's, with A and D: not the session that ends.
    const otherJar = new CookieJar();
    const otherA = await login(env.a, otherJar);
    const otherD = await login(env.d, otherJar);
    assert.notEqual(otherA.claims.sid, first.claims.sid);
    // A refreshes once: the rotated refresh token stays in the session's grant.
    const rotated = await refresh(env.a, first.tokens.refresh_token);
    assert.ok(rotated.refresh_token && rotated.refresh_token !== first.tokens.refresh_token);
    const mark = received.length;

    const out = await endSession(jar, first.tokens.id_token);
    assert.equal(out.status, 200, out.text.slice(0, 300));
    assert.match(out.text, /You are signed out/);

    const got = await deliveries(mark, ['a']);
    assert.deepEqual(got.map((r) => r.path), ['/logout/a'],
      'exactly one POST, to A: not to B (no URI) nor to D (another session)');
    const claims = await assertLogoutToken(got[0], env.a, first.claims);
    assert.equal(claims.sub, second.claims.sub);
    // Tokens of other sessions would name other sids; a token for A names this one only.
    assert.notEqual(claims.sid, otherA.claims.sid);

    // The ended session's refresh tokens, A's and B's, are revoked (invalid_grant).
    await assertDead(env.a, rotated.refresh_token);
    await assertDead(env.b, second.tokens.refresh_token);
    // The browser has no session any more: prompt=none is login_required.
    const a = await authorizationRequest(env.a, { prompt: 'none' });
    const none = await visit(jar, authorizationUrl(as, env.a.client_id, a.params).href);
    assert.equal(none.status, 303);
    assert.equal(new URL(none.response.headers.get('location')).searchParams.get('error'), 'login_required');
    // The other session is untouched: its refresh tokens still work.
    assert.ok((await refresh(env.a, otherA.tokens.refresh_token)).access_token);
    assert.ok((await refresh(env.d, otherD.tokens.refresh_token)).access_token);
  });

  test('a client answering 500, one unreachable and one slow: the logout completes at once and A still gets its token', async () => {
    const jar = new CookieJar();
    const signedIn = {};
    for (const name of ['c', 'e', 's', 'a']) signedIn[name] = await login(env[name], jar);
    const { sid } = signedIn.a.claims;
    for (const name of ['c', 'e', 's']) assert.equal(signedIn[name].claims.sid, sid);
    const mark = received.length;

    // Without a hint of the session the user is asked first (RP-Initiated Logout §2); C's
    // client_id names the relying party.
    const url = new URL(as.end_session_endpoint);
    url.searchParams.set('client_id', env.c.client_id);
    const confirm = await visit(jar, url.href);
    assert.equal(confirm.status, 200, confirm.text.slice(0, 300));
    assert.match(confirm.text, /name="decision" value="logout"/);
    assert.equal(received.length, mark, 'nothing is sent before the user decides');
    const form = parseForm(confirm.text);
    const started = Date.now();
    const out = await visit(jar, new URL(form.action, as.issuer).href,
      { method: 'POST', form: { ...form.fields, decision: 'logout' } });
    const took = Date.now() - started;
    assert.equal(out.status, 200, out.text.slice(0, 300));
    assert.match(out.text, /You are signed out/);
    assert.ok(took < SLOW_MS / 2, `the page waited ${took} ms: the POSTs are not in the background`);

    const got = await deliveries(mark, ['a', 'broken', 'slow']);
    assert.deepEqual(got.map((r) => r.path).sort(), ['/logout/a', '/logout/broken', '/logout/slow'],
      'one POST each to A, C (500) and S (slow); E cannot be reached');
    for (const [name, path] of [['a', '/logout/a'], ['c', '/logout/broken'], ['s', '/logout/slow']]) {
      await assertLogoutToken(got.find((r) => r.path === path), env[name], signedIn[name].claims);
    }
    for (const name of ['a', 'c', 'e', 's']) await assertDead(env[name], signedIn[name].tokens.refresh_token);
  });

  test('another user signing in on the same browser ends the first user\'s session: a logout token for alice', async () => {
    const jar = new CookieJar();
    const alice = await login(env.a, jar);
    const aliceD = await login(env.d, jar);
    assert.deepEqual(aliceD.pages, []);
    // Alice signing in again (prompt=login) keeps her session: nobody is told anything.
    const before = received.length;
    const again = await login(env.a, jar, env.user, { prompt: 'login' });
    assert.deepEqual(again.pages, ['login']);
    assert.equal(again.claims.sid, alice.claims.sid);
    await sleep(500);
    assert.deepEqual(received.slice(before).map((r) => r.path), [], 'the same user: no logout token');
    const mark = received.length;

    // prompt=login: the login page although a session exists, and bob signs in.
    const bobs = await login(env.a, jar, bob, { prompt: 'login' });
    assert.deepEqual(bobs.pages, ['login']);
    assert.notEqual(bobs.claims.sub, alice.claims.sub);
    assert.notEqual(bobs.claims.sid, alice.claims.sid, 'bob has a session of his own');

    const got = await deliveries(mark, ['a', 'd']);
    assert.deepEqual(got.map((r) => r.path).sort(), ['/logout/a', '/logout/d']);
    const forA = await assertLogoutToken(got.find((r) => r.path === '/logout/a'), env.a, alice.claims);
    await assertLogoutToken(got.find((r) => r.path === '/logout/d'), env.d, aliceD.claims);
    assert.notEqual(forA.sub, bobs.claims.sub);
    // Alice's grants are gone with her session; bob's are not.
    await assertDead(env.a, alice.tokens.refresh_token);
    await assertDead(env.a, again.tokens.refresh_token);
    await assertDead(env.d, aliceD.tokens.refresh_token);
    assert.ok((await refresh(env.a, bobs.tokens.refresh_token)).access_token);

    // Bob logs out in turn: a logout token for his sub and sid, to A only.
    const mark2 = received.length;
    const out = await endSession(jar, bobs.tokens.id_token);
    assert.equal(out.status, 200, out.text.slice(0, 300));
    const last = await deliveries(mark2, ['a']);
    assert.deepEqual(last.map((r) => r.path), ['/logout/a']);
    await assertLogoutToken(last[0], env.a, bobs.claims);
  });

  test('tessera user revoke-session: with the server\'s configuration the clients are told; with the store alone they are not', async () => {
    // Bob, in two browsers: each session has A.
    const first = await login(env.a, new CookieJar(), bob);
    const second = await login(env.a, new CookieJar(), bob);
    assert.notEqual(first.claims.sid, second.claims.sid);
    const mark = received.length;
    // A sid is base64url: after `--`, one that begins with '-' is not read as an option.
    const told = await okAsync(['user', 'revoke-session', '--config', join(env.dir, 'tessera.yaml'),
      '--', bob.username, first.claims.sid]);
    assert.match(told, /1 session\(s\) of bob ended; their grants revoked; back-channel logout attempted/);
    // Sent before the command returned.
    const got = received.slice(mark);
    assert.deepEqual(got.map((r) => r.path), ['/logout/a']);
    await assertLogoutToken(got[0], env.a, first.claims);
    await assertDead(env.a, first.tokens.refresh_token);
    assert.ok((await refresh(env.a, second.tokens.refresh_token)).access_token, 'the other session lives');

    const mark2 = received.length;
    const silent = ok(['user', 'revoke-session', '--config', join(env.dir, 'store.yaml'), '--',
      bob.username, second.claims.sid]);
    assert.match(silent, /clients not told/);
    await sleep(500);
    assert.deepEqual(received.slice(mark2), [], 'no configuration of the server: no logout token');
    await assertDead(env.a, second.tokens.refresh_token);
  });
});
