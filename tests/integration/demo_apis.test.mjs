// The seeds' architecture end to end in `tessera demo`: users sign in (code + PKCE, through the
// real login pages over HTTP), call the invoices API through the demo gateway, the invoices API
// decides per invoice through the fga role, and the API-to-API chain exchanges the user's token
// (RFC 8693) before calling the ledger API. Every hop's decision is asserted, and so is every way
// a request is refused (RFC 6750 §3 at the gateway and at each API).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createHmac, generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as jose from 'jose';
import { BIN } from '../lib/tessera.mjs';
import { basic, codeFlow, form, startDemo } from '../lib/demo.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const SCOPE = 'openid invoices:read invoices:write';
// An ES256 DPoP proof (RFC 9449 §4.2) of `key` for `htm` on `htu`, with ath for `token`.
async function proof(key, htm, htu, token) {
  const claims = { htm, htu, jti: randomUUID() };
  if (token) claims.ath = createHash('sha256').update(token).digest('base64url');
  return new jose.SignJWT(claims).setIssuedAt()
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: key.publicKey.export({ format: 'jwk' }) })
    .sign(key.privateKey);
}

const aliceKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const demo = startDemo('tessera-demo-apis-', async (d) => {
  d.alice = (await codeFlow(d, d.ready.users.alice, { scope: SCOPE })).tokens;
  d.aliceBound = (await codeFlow(d, d.ready.users.alice, {
    scope: SCOPE,
    tokenHeaders: { dpop: await proof(aliceKey, 'POST', d.metadata.token_endpoint) },
  })).tokens;
  d.bob = (await codeFlow(d, d.ready.users.bob, { scope: SCOPE })).tokens;
  d.aliceReadOnly = (await codeFlow(d, d.ready.users.alice, { scope: 'openid invoices:read' })).tokens;
});

const gw = (path) => `${demo.ready.gateway}${path}`;

async function call(url, token, { method = 'GET', body, headers = {}, scheme = 'Bearer' } = {}) {
  const h = { ...headers };
  if (token) h.authorization = `${scheme} ${token}`;
  if (body !== undefined) h['content-type'] = 'application/json';
  const r = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  assert.notEqual(r.status, 500, text);
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { assert.fail(`not JSON (${r.status}): ${text.slice(0, 200)}`); }
  return { status: r.status, headers: r.headers, body: json };
}

function subjectOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url')).sub;
}

// A token of the demo's `exchange` client by client credentials (no user, no act).
async function exchangeClientToken(audience) {
  const c = demo.ready.clients.exchange;
  const r = await form(demo.metadata.token_endpoint, {
    grant_type: 'client_credentials', scope: 'invoices:read', audience,
    client_id: c.client_id, client_secret: c.client_secret,
  });
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

test('the readiness line names the gateway and the example APIs (DESIGN.md)', () => {
  const port = Number(new URL(demo.ready.issuer).port);
  assert.equal(demo.ready.gateway, `http://127.0.0.1:${port + 1}`);
  assert.equal(demo.ready.apis.invoices, '/invoices');
  assert.equal(demo.ready.apis.chain, '/chain/invoices/{id}');
  assert.ok(demo.ready.roles.includes('gateway'));
});

test('each user sees the invoices the fga role lets them view', async () => {
  const alice = await call(gw('/invoices'), demo.alice.access_token);
  assert.equal(alice.status, 200);
  assert.deepEqual(alice.body.invoices.map((i) => i.id), ['inv-1']);  // the owner of inv-1 only
  const bob = await call(gw('/invoices'), demo.bob.access_token);
  assert.equal(bob.status, 200);
  // bob owns inv-2 and is the accountant of tenant acme, which inv-1 belongs to
  assert.deepEqual(bob.body.invoices.map((i) => i.id).filter((id) => id === 'inv-1' || id === 'inv-2'),
    ['inv-1', 'inv-2']);
});

test('one invoice: allowed to its viewers, 403 to anyone else, and no probing of ids', async () => {
  const own = await call(gw('/invoices/inv-1'), demo.alice.access_token);
  assert.equal(own.status, 200);
  assert.equal(own.body.owner, 'alice');
  assert.equal(own.body.amount_cents, 120000);
  const other = await call(gw('/invoices/inv-2'), demo.alice.access_token);
  assert.equal(other.status, 403);
  assert.equal(other.body.error, 'access_denied');
  const missing = await call(gw('/invoices/inv-nope'), demo.alice.access_token);
  assert.equal(missing.status, 403, 'a missing invoice looks like a forbidden one');
  const accountant = await call(gw('/invoices/inv-1'), demo.bob.access_token);
  assert.equal(accountant.status, 200);
});

test('POST /invoices needs invoices:write; the new invoice is owned by its author and seen by the tenant accountant', async () => {
  const readOnly = await call(gw('/invoices'), demo.aliceReadOnly.access_token,
    { method: 'POST', body: { amount_cents: 1000 } });
  assert.equal(readOnly.status, 403);
  assert.match(readOnly.headers.get('www-authenticate'), /error="insufficient_scope"/);
  assert.match(readOnly.headers.get('www-authenticate'), /scope="invoices:write"/);

  const bad = await call(gw('/invoices'), demo.alice.access_token,
    { method: 'POST', body: { amount_cents: 'a lot' } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_request');

  const created = await call(gw('/invoices'), demo.alice.access_token,
    { method: 'POST', body: { amount_cents: 2500, currency: 'EUR', description: 'Workshop' } });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  assert.equal(created.body.owner, 'alice');
  assert.equal(created.body.tenant, 'acme');
  assert.equal(created.headers.get('location'), `/invoices/${created.body.id}`);
  const id = created.body.id;
  assert.equal((await call(gw(`/invoices/${id}`), demo.alice.access_token)).status, 200);
  assert.equal((await call(gw(`/invoices/${id}`), demo.bob.access_token)).status, 200, 'the accountant');
  // The relationships were written to the fga role, not kept in the API.
  const check = await fetch(`${demo.ready.fga}/stores/${demo.ready.fga_store}/check`, {
    method: 'POST',
    headers: { authorization: `Bearer ${demo.ready.fga_token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ tuple_key: { user: 'user:alice', relation: 'owner', object: `invoice:${id}` } }),
  });
  assert.equal((await check.json()).allowed, true);
});

test('the chain: API A exchanges the user token; API B sees the user in sub and API A in act', async () => {
  const r = await call(gw('/chain/invoices/inv-1'), demo.alice.access_token);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [a, b] = r.body.hops;
  const alice = subjectOf(demo.alice.access_token);
  assert.equal(a.api, 'invoices');
  assert.equal(a.decision.subject, alice);
  assert.deepEqual(a.decision.actors, [], 'the user called API A directly');
  assert.equal(b.api, 'ledger');
  assert.equal(b.status, 200);
  assert.equal(b.answer.decision.subject, alice, 'the user stays in sub');
  assert.deepEqual(b.answer.decision.actors, ['exchange'], 'API A is the actor');
  // Fewer scopes downstream: only invoices:read, never write or openid.
  assert.deepEqual(b.answer.decision.scope, ['invoices:read']);
  assert.equal(b.answer.entries.length, 2);
  // A user who may not view the invoice is stopped at API A: no exchange, no ledger call.
  const denied = await call(gw('/chain/invoices/inv-2'), demo.alice.access_token);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.error, 'access_denied');
});

test('API A exchanges once per user token: later chain calls reuse the exchanged token', async () => {
  const ledgerToken = async (token, invoice) => {
    const r = await call(gw(`/chain/invoices/${invoice}`), token);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    const id = r.body.hops[1].answer.decision.token_id;
    assert.match(id, /^\S+$/, 'the ledger names the exchanged token');
    return id;
  };
  const first = await ledgerToken(demo.alice.access_token, 'inv-1');
  assert.equal(await ledgerToken(demo.alice.access_token, 'inv-1'), first);
  // Another user's token never gets alice's exchanged token.
  const other = await ledgerToken(demo.bob.access_token, 'inv-1');
  assert.notEqual(other, first);
  assert.equal(await ledgerToken(demo.bob.access_token, 'inv-2'), other);
});

test('the ledger accepts no token but an exchanged one: the user token is not passed on', async () => {
  const ledger = demo.ready.apis.ledger;
  const userToken = await call(`${ledger}/ledger/inv-1`, demo.alice.access_token);
  assert.equal(userToken.status, 401, 'the user token is for the invoices audience');
  assert.match(userToken.headers.get('www-authenticate'), /error="invalid_token"/);
  const noAct = await call(`${ledger}/ledger/inv-1`, await exchangeClientToken('urn:tessera:api:ledger'));
  assert.equal(noAct.status, 403, 'a token of its own audience but not delegated');
  assert.equal((await call(`${ledger}/ledger/inv-1`)).status, 401);
});

test('the gateway refuses, with RFC 6750 challenges, what the APIs never see', async () => {
  const none = await call(gw('/invoices'));
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'),
    'Bearer realm="tessera-demo", DPoP realm="tessera-demo", algs="ES256 PS256 EdDSA Ed25519"');

  const t = demo.alice.access_token;
  const [h, p, s] = t.split('.');
  const flipped = s.slice(0, -2) + (s.at(-2) === 'A' ? 'B' : 'A') + s.at(-1);
  const tampered = await call(gw('/invoices'), `${h}.${p}.${flipped}`);
  assert.equal(tampered.status, 401);
  assert.match(tampered.headers.get('www-authenticate'), /error="invalid_token"/);

  const payload = JSON.parse(Buffer.from(p, 'base64url'));
  payload.scope = 'invoices:read invoices:write admin';
  const forged = await call(gw('/invoices'), `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`);
  assert.equal(forged.status, 401, 'claims changed under the old signature');

  const wrongAudience = await call(gw('/invoices'), await exchangeClientToken('urn:tessera:api:ledger'));
  assert.equal(wrongAudience.status, 401);
  assert.match(wrongAudience.headers.get('www-authenticate'), /error="invalid_token"/);

  const service = demo.ready.clients.service;
  const cc = await form(demo.metadata.token_endpoint,
    { grant_type: 'client_credentials', scope: 'invoices:read' }, basic(service.client_id, service.client_secret));
  assert.equal(cc.status, 200, cc.text);
  const missingScope = await call(gw('/invoices'), cc.body.access_token, { method: 'POST', body: { amount_cents: 1 } });
  assert.equal(missingScope.status, 403);
  assert.match(missingScope.headers.get('www-authenticate'), /error="insufficient_scope"/);
  // A client is not a user of the invoices API: it sees nothing and may open nothing.
  const asClient = await call(gw('/invoices'), cc.body.access_token);
  assert.equal(asClient.status, 200);
  assert.deepEqual(asClient.body.invoices, []);
  assert.equal((await call(gw('/invoices/inv-1'), cc.body.access_token)).status, 403);

  const unrouted = await call(gw('/admin'), t);
  assert.equal(unrouted.status, 404);
  const wrongMethod = await call(gw('/invoices/inv-1'), t, { method: 'DELETE' });
  assert.equal(wrongMethod.status, 405);
});

test('a second sign-in gets a new token, and both it and the first one work', async () => {
  const again = (await codeFlow(demo, demo.ready.users.alice, { scope: SCOPE })).tokens;
  assert.notEqual(again.access_token, demo.alice.access_token);
  for (const token of [again.access_token, demo.alice.access_token]) {
    assert.equal((await call(gw('/invoices/inv-1'), token)).status, 200);
  }
});

test('a DPoP-bound token through the gateway: the invoices API checks the proof again, for the URL the client called', async () => {
  const token = demo.aliceBound.access_token;
  assert.equal(demo.aliceBound.token_type, 'DPoP');
  const url = gw('/invoices/inv-1');
  const dpop = (p) => ({ scheme: 'DPoP', headers: { dpop: p } });

  // The gateway checks the proof and forwards it with X-Forwarded-Proto, -Host and -Uri; the API
  // checks it again against the URL they name (its own address is another port).
  const first = await proof(aliceKey, 'GET', url, token);
  const ok = await call(url, token, dpop(first));
  assert.equal(ok.status, 200, JSON.stringify(ok.body));
  assert.equal(ok.body.owner, 'alice');
  // What a client says of the URL is replaced by the gateway: the API still sees the real one.
  const spoofed = await call(url, token, {
    scheme: 'DPoP',
    headers: {
      dpop: await proof(aliceKey, 'GET', url, token),
      'x-forwarded-uri': '/elsewhere', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https',
    },
  });
  assert.equal(spoofed.status, 200, JSON.stringify(spoofed.body));

  // Bypassing the gateway. The API's own address is not the URL the proof names...
  const port = Number(new URL(demo.ready.issuer).port);
  const direct = `http://127.0.0.1:${port + 3}/invoices/inv-1`;  // DESIGN.md: P+3
  const wrongUrl = await call(direct, token, dpop(await proof(aliceKey, 'GET', url, token)));
  assert.equal(wrongUrl.status, 401);
  assert.match(wrongUrl.headers.get('www-authenticate'), /^DPoP .*error="invalid_dpop_proof"/);
  // ...and a proof for its own address works: the API itself enforces the binding.
  const own = await call(direct, token, dpop(await proof(aliceKey, 'GET', direct, token)));
  assert.equal(own.status, 200, JSON.stringify(own.body));
  // A proof the API has not seen (one the gateway refused, say), sent to it directly with the
  // gateway's fields forged: the fields count only under the gateway's RFC 9421 signature, which
  // the first request carried (else it was refused) and a client cannot make.
  const forwarded = {
    'x-forwarded-proto': 'http', 'x-forwarded-host': new URL(url).host, 'x-forwarded-uri': '/invoices/inv-1',
  };
  const unseen = await proof(aliceKey, 'GET', url, token);
  const forged = await call(direct, token, { scheme: 'DPoP', headers: { dpop: unseen, ...forwarded } });
  assert.equal(forged.status, 400, JSON.stringify(forged.body));
  assert.equal(forged.body.error, 'invalid_request');
  assert.match(forged.body.error_description, /signature/);
  // Nor under a signature made with a key the API does not hold. The same signature made with the
  // demo gateway's key (derived from the data directory's secret.key, as the demo does) passes:
  // this test's own RFC 9421 signature base (node's HMAC) agrees with the SDK's byte for byte.
  const signedCall = async (key, dpopProof) => {
    const created = Math.floor(Date.now() / 1000);
    const input = '("@method" "@authority" "@path" "@query" "x-forwarded-proto" "x-forwarded-host" ' +
      `"x-forwarded-uri");created=${created};keyid="demo-gateway";alg="hmac-sha256";tag="tessera-gateway"`;
    const base = [
      '"@method": GET', `"@authority": ${new URL(direct).host}`, '"@path": /invoices/inv-1', '"@query": ?',
      ...Object.entries(forwarded).map(([k, v]) => `"${k}": ${v}`), `"@signature-params": ${input}`,
    ].join('\n');
    return call(direct, token, {
      scheme: 'DPoP',
      headers: {
        dpop: dpopProof ?? await proof(aliceKey, 'GET', url, token), ...forwarded,
        'signature-input': `tessera=${input}`,
        signature: `tessera=:${createHmac('sha256', key).update(base).digest('base64')}:`,
      },
    });
  };
  const strangers = await signedCall(randomBytes(32));
  assert.equal(strangers.status, 400, JSON.stringify(strangers.body));
  const secret = Buffer.from(readFileSync(join(demo.ready.data_dir, 'secret.key'), 'utf8').trim(), 'base64url');
  const gatewayKey = createHmac('sha256', secret).update('tessera demo gateway signature key').digest();
  const gateways = await signedCall(gatewayKey);
  assert.equal(gateways.status, 200, JSON.stringify(gateways.body));
  // The API keeps a replay cache of its own: the first proof, which reached it through the
  // gateway, is a replay there even under a good signature.
  const replayedAtApi = await signedCall(gatewayKey, first);
  assert.equal(replayedAtApi.status, 401);
  assert.match(replayedAtApi.headers.get('www-authenticate'), /error="invalid_dpop_proof"/);
  assert.match(replayedAtApi.body.error_description, /replay|seen|used/i);
  // The first proof replayed at the gateway: its own replay cache refuses it.
  const replayed = await call(url, token, dpop(first));
  assert.equal(replayed.status, 401);
  assert.match(replayed.headers.get('www-authenticate'), /error="invalid_dpop_proof"/);
  // The API trusts the fields for the gateway's origin only: a client that calls it directly
  // cannot name another origin's URL (its proofs for the issuer, say)...
  const elsewhere = `${demo.ready.issuer}/invoices/inv-1`;
  const foreign = await call(direct, token, {
    scheme: 'DPoP',
    headers: {
      dpop: await proof(aliceKey, 'GET', elsewhere, token),
      'x-forwarded-proto': 'http', 'x-forwarded-host': new URL(elsewhere).host, 'x-forwarded-uri': '/invoices/inv-1',
    },
  });
  assert.equal(foreign.status, 400);
  assert.equal(foreign.body.error, 'invalid_request');
  // ...and half of the gateway's fields is refused, not guessed at.
  const partial = await call(direct, token, {
    scheme: 'DPoP',
    headers: { dpop: await proof(aliceKey, 'GET', url, token), 'x-forwarded-host': new URL(url).host },
  });
  assert.equal(partial.status, 400);
  assert.equal(partial.body.error, 'invalid_request');

  // The chain: API A exchanges the bound token for the ledger's (Tessera accepts a bound subject
  // token without its key: API A checked the proof and never holds the key); the ledger sees alice
  // and API A.
  const chainUrl = gw('/chain/invoices/inv-1');
  const chain = await call(chainUrl, token, dpop(await proof(aliceKey, 'GET', chainUrl, token)));
  assert.equal(chain.status, 200, JSON.stringify(chain.body));
  const ledger = chain.body.hops[1];
  assert.equal(ledger.status, 200);
  assert.equal(ledger.answer.decision.subject, subjectOf(token), 'the user stays in sub');
  assert.deepEqual(ledger.answer.decision.actors, ['exchange'], 'API A is the actor');

  // Without a proof, or as a bearer token, the bound token is refused at the gateway.
  const bearer = await call(url, token);
  assert.equal(bearer.status, 401);
  assert.match(bearer.headers.get('www-authenticate'), /error="invalid_token"/);
  const stolen = await call(url, token, dpop(await proof(generateKeyPairSync('ec', { namedCurve: 'P-256' }), 'GET', url, token)));
  assert.equal(stolen.status, 401, 'a proof of another key');
});
