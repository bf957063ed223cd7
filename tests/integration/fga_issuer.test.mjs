// The fga role accepting access tokens of an authorization server in another process
// (fga.issuer: src/app/fga_role.cpp): two `tessera serve` processes, each on its own store. The
// authorization server issues JWT (RFC 9068) and opaque access tokens; the fga role validates the
// JWTs against the issuer's JWKS (fetched from its RFC 8414 metadata) and the opaque ones by
// RFC 7662 introspection, and lets each token do what its fga:* scopes say. `@openfga/sdk`,
// unmodified, gets its own token with the client credentials grant and drives the API with it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OpenFgaClient, CredentialsMethod } from '@openfga/sdk';
import * as jose from 'jose';
import { BIN, ok, freePort, startTessera, waitFor } from '../lib/tessera.mjs';
import { form, basic } from '../lib/demo.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const FGA_AUD = 'urn:tessera:fga';           // JWT access tokens
const OPAQUE_AUD = 'urn:tessera:fga-opaque';  // opaque access tokens, introspected
const OTHER_AUD = 'https://other.example';    // JWTs for another API: refused by the fga role
const sha256Hex = (s) => createHash('sha256').update(s).digest('hex');

const env = { dir: undefined, as: undefined, fga: undefined, issuer: undefined, base: undefined };
const clients = {};

async function ready(base) {
  try {
    return (await fetch(base + '/readyz')).status === 200;
  } catch {
    return false;
  }
}

// Starts `tessera serve` on a config; resolves once /readyz answers on `base`.
async function serve(name, lines, base) {
  const file = join(env.dir, `${name}.yaml`);
  writeFileSync(file, lines.join('\n') + '\n');
  const server = startTessera(['serve', '--config', file]);
  await waitFor(async () => {
    if (server.child.exitCode !== null) throw new Error(`${name} exited: ${server.err()}`);
    return ready(base);
  }, `${name} ready`);
  return server;
}

async function stop(server) {
  server.child.kill('SIGTERM');
  const { code } = await server.exited;
  assert.equal(code, 0, server.err());
}

async function token(client, resource) {
  const r = await form(`${env.issuer}/token`, { grant_type: 'client_credentials', resource },
    basic(client.client_id, client.client_secret));
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

// One call to the fga role; the status and the parsed body.
async function call(path, credential, body) {
  const r = await fetch(env.base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: {
      'content-type': 'application/json',
      ...(credential ? { authorization: `Bearer ${credential}` } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.notEqual(r.status, 500, text);
  return { status: r.status, body: text ? JSON.parse(text) : undefined, challenge: r.headers.get('www-authenticate') };
}

before(async () => {
  env.dir = mkdtempSync(join(tmpdir(), 'tessera-fga-issuer-'));
  const [asPort, fgaPort, fgaMain] = [await freePort(), await freePort(), await freePort()];
  env.issuer = `http://127.0.0.1:${asPort}`;
  env.base = `http://127.0.0.1:${fgaPort}`;
  const asStore = join(env.dir, 'as.yaml.store');
  writeFileSync(asStore, `store:\n  driver: sqlite\n  path: ${join(env.dir, 'as.db')}\n`);
  const create = (...args) =>
    JSON.parse(ok(['client', 'create', ...args, '--json', '--config', asStore]));
  const everyAudience = ['--audience', FGA_AUD, '--audience', OPAQUE_AUD, '--audience', OTHER_AUD];
  clients.reader = create('--grant-type', 'client_credentials', '--scope', 'fga:read', ...everyAudience);
  clients.writer = create('--grant-type', 'client_credentials', '--scope', 'fga:write', ...everyAudience);
  clients.admin = create('--grant-type', 'client_credentials', '--scope', 'fga:admin', ...everyAudience);
  clients.other = create('--grant-type', 'client_credentials', '--scope', 'openid', ...everyAudience);
  // How @openfga/sdk authenticates: client_secret_post, the audience in its own parameter, which
  // RFC 6749 §3.2 lets the server ignore; `resource` (RFC 8707) comes through its customClaims.
  clients.sdk = create('--grant-type', 'client_credentials', '--scope', 'fga:admin',
    '--auth-method', 'client_secret_post', '--audience', FGA_AUD);
  // The fga role's own client at the introspection endpoint, for the opaque audience.
  clients.introspector = create('--grant-type', 'client_credentials', '--audience', OPAQUE_AUD);
  const introspectorSecret = join(env.dir, 'introspector.secret');
  writeFileSync(introspectorSecret, clients.introspector.client_secret + '\n', { mode: 0o600 });
  const secretKey = join(env.dir, 'secret.key');
  writeFileSync(secretKey, randomBytes(32).toString('base64url'), { mode: 0o600 });

  env.preshared = randomBytes(32).toString('base64url');
  // The fga role first: it fetches nothing before the first token, so its issuer may start later.
  env.fga = await serve('fga', [
    'roles: [fga]',
    'http:',
    `  listen: 127.0.0.1:${fgaMain}`,
    'store:',
    '  driver: sqlite',
    `  path: ${join(env.dir, 'fga.db')}`,
    'fga:',
    `  port: ${fgaPort}`,
    `  preshared_keys_sha256: [${sha256Hex(env.preshared)}]`,
    `  issuer: ${env.issuer}`,
    `  audiences: [${FGA_AUD}, ${OPAQUE_AUD}]`,
    '  introspection:',
    `    client_id: ${clients.introspector.client_id}`,
    `    client_secret_file: ${introspectorSecret}`,
  ], env.base);
  env.as = await serve('as', [
    'roles: [as]',
    'http:',
    `  listen: 127.0.0.1:${asPort}`,
    'store:',
    '  driver: sqlite',
    `  path: ${join(env.dir, 'as.db')}`,
    'as:',
    `  issuer: ${env.issuer}`,
    `  secret_key_file: ${secretKey}`,
    '  scopes_supported: [openid, fga:read, fga:write, fga:admin]',
    '  audiences:',
    `    ${FGA_AUD}: {access_token_format: jwt}`,
    `    ${OPAQUE_AUD}: {access_token_format: opaque}`,
    `    ${OTHER_AUD}: {access_token_format: jwt}`,
  ], env.issuer);
});

after(async () => {
  if (env.fga) {
    await stop(env.fga);
    for (const c of Object.values(clients)) {
      assert.ok(!env.fga.err().includes(c.client_secret), 'a client secret reached the fga log');
    }
  }
  if (env.as) await stop(env.as);
  rmSync(env.dir, { recursive: true, force: true });
});

test('JWT access tokens of the other process do what their fga scopes say', async () => {
  const admin = await token(clients.admin, FGA_AUD);
  assert.equal(admin.split('.').length, 3, 'a JWT');
  const created = await call('/stores', admin, { name: 'remote-tokens' });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const store = created.body.id;

  const writer = await token(clients.writer, FGA_AUD);
  const model = await call(`/stores/${store}/authorization-models`, writer, {
    schema_version: '1.1',
    type_definitions: [
      { type: 'user' },
      { type: 'doc', relations: { viewer: { this: {} } },
        metadata: { relations: { viewer: { directly_related_user_types: [{ type: 'user' }] } } } },
    ],
  });
  assert.equal(model.status, 201, JSON.stringify(model.body));
  const write = await call(`/stores/${store}/write`, writer,
    { writes: { tuple_keys: [{ user: 'user:anne', relation: 'viewer', object: 'doc:1' }] } });
  assert.equal(write.status, 200, JSON.stringify(write.body));
  assert.equal((await call('/stores', writer, { name: 'not-mine' })).status, 403, 'fga:write cannot create stores');

  const reader = await token(clients.reader, FGA_AUD);
  const check = (user) => call(`/stores/${store}/check`, reader,
    { tuple_key: { user, relation: 'viewer', object: 'doc:1' } });
  assert.deepEqual((await check('user:anne')).body.allowed, true);
  assert.deepEqual((await check('user:bob')).body.allowed, false);
  const denied = await call(`/stores/${store}/write`, reader,
    { writes: { tuple_keys: [{ user: 'user:bob', relation: 'viewer', object: 'doc:1' }] } });
  assert.equal(denied.status, 403);
  assert.equal(denied.body.code, 'forbidden');
  assert.equal((await check('user:bob')).body.allowed, false, 'the refused write changed nothing');

  // A token with no fga scope is valid but may do nothing.
  const other = await call(`/stores/${store}/check`, await token(clients.other, FGA_AUD),
    { tuple_key: { user: 'user:anne', relation: 'viewer', object: 'doc:1' } });
  assert.equal(other.status, 403);
  env.store = store;
});

test('tokens for another audience, tampered tokens and made-up ones are 401 unauthenticated', async () => {
  const elsewhere = await call('/stores', await token(clients.admin, OTHER_AUD));
  assert.equal(elsewhere.status, 401);
  assert.equal(elsewhere.body.code, 'unauthenticated');
  assert.match(elsewhere.challenge, /^Bearer realm="fga", error="invalid_token"/);
  assert.match(elsewhere.body.message, /audience/);

  const good = await token(clients.admin, FGA_AUD);
  const [h, p, s] = good.split('.');
  const claims = JSON.parse(Buffer.from(p, 'base64url'));
  claims.scope = 'fga:admin fga:write';
  const tampered = `${h}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${s}`;
  const forged = await call('/stores', tampered);
  assert.equal(forged.status, 401);
  assert.equal(forged.body.code, 'unauthenticated');
  assert.equal((await call('/stores', 'not-a-token')).status, 401);
  assert.equal((await call('/stores')).body.code, 'bearer_token_missing');
  // The preshared key still works beside the issuer's tokens.
  assert.equal((await call('/stores', env.preshared)).status, 200);
});

test('a DPoP-bound token is refused: the fga API takes bearer credentials, and the proof would be missing', async () => {
  // RFC 9449 §5: the token request carries a proof, so the token is bound (cnf.jkt).
  const { publicKey, privateKey } = await jose.generateKeyPair('ES256');
  const proof = await new jose.SignJWT({ htm: 'POST', htu: `${env.issuer}/token`, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await jose.exportJWK(publicKey) })
    .setIssuedAt()
    .sign(privateKey);
  const r = await form(`${env.issuer}/token`, { grant_type: 'client_credentials', resource: FGA_AUD },
    { ...basic(clients.reader.client_id, clients.reader.client_secret), dpop: proof });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.token_type, 'DPoP');
  const bound = await call(`/stores/${env.store}`, r.body.access_token);
  assert.equal(bound.status, 401);
  assert.equal(bound.body.code, 'unauthenticated');
  assert.match(bound.body.message, /sender-constrained/);
});

test('opaque tokens are introspected, and a revoked one is refused', async () => {
  const opaque = await token(clients.reader, OPAQUE_AUD);
  assert.notEqual(opaque.split('.').length, 3, 'an opaque token');
  assert.equal((await call(`/stores/${env.store}`, opaque)).status, 200);
  assert.equal((await call('/stores', opaque, { name: 'x' })).status, 403, 'fga:read only');

  // Revoked before its first use here: the issuer says inactive.
  const revoked = await token(clients.reader, OPAQUE_AUD);
  const r = await form(`${env.issuer}/revoke`, { token: revoked },
    basic(clients.reader.client_id, clients.reader.client_secret));
  assert.equal(r.status, 200, r.text);
  const refused = await call(`/stores/${env.store}`, revoked);
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, 'unauthenticated');
});

test('@openfga/sdk gets its token from the issuer with client credentials and drives the API', async () => {
  const fga = new OpenFgaClient({
    apiUrl: env.base,
    storeId: env.store,
    credentials: {
      method: CredentialsMethod.ClientCredentials,
      config: {
        apiTokenIssuer: `${env.issuer}/token`,
        apiAudience: FGA_AUD,
        clientId: clients.sdk.client_id,
        clientSecret: clients.sdk.client_secret,
        customClaims: { resource: FGA_AUD },
      },
    },
  });
  const { allowed } = await fga.check({ user: 'user:anne', relation: 'viewer', object: 'doc:1' });
  assert.equal(allowed, true);
  await fga.write({ writes: [{ user: 'user:carl', relation: 'viewer', object: 'doc:1' }] });
  const after = await fga.check({ user: 'user:carl', relation: 'viewer', object: 'doc:1' });
  assert.equal(after.allowed, true);
  const stores = await fga.listStores();
  assert.ok(stores.stores.some((s) => s.id === env.store));
});

test('when the issuer is down, a token whose keys are cached still works, and no token is called invalid', async () => {
  const reader = await token(clients.reader, FGA_AUD);
  const opaque = await token(clients.reader, OPAQUE_AUD);
  await stop(env.as);
  env.as = undefined;
  // The JWT is checked against the keys already held: no call to the issuer.
  const check = await call(`/stores/${env.store}/check`, reader,
    { tuple_key: { user: 'user:anne', relation: 'viewer', object: 'doc:1' } });
  assert.equal(check.status, 200, JSON.stringify(check.body));
  // An opaque token nobody has seen cannot be introspected: 503, not 401.
  const down = await call(`/stores/${env.store}`, opaque);
  assert.equal(down.status, 503, JSON.stringify(down.body));
  assert.equal(down.body.code, 'unavailable');
  assert.equal(down.challenge, null);
});
