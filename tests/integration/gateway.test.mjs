// The gateway role end to end (src/gateway/gateway.h): one `tessera serve` with roles [as,
// gateway], the gateway on a listener of its own, clients made with `tessera client create`, and
// a node upstream that echoes what reached it. Every answer is checked over real HTTP: token
// validation (RFC 9068 JWTs locally, opaque tokens by RFC 7662 introspection), RFC 6750 §3
// challenges, RFC 9470 step-up challenges, and what is forwarded upstream and back.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, ok, freePort, startTessera, waitFor } from '../lib/tessera.mjs';
import { form, basic } from '../lib/demo.mjs';
import * as jose from 'jose';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const JWT_AUD = 'https://invoices.example';  // as.audiences: jwt; the gateway accepts it
const OPAQUE_AUD = 'urn:tessera:api:ledger';  // as.audiences: opaque; the gateway accepts it
const OTHER_AUD = 'https://other.example';    // as.audiences: jwt; not one of the gateway's

// What the upstream saw, per request: it answers with it as JSON. A path ending in /created is
// answered 201 with headers of its own, to check that the gateway passes them back (all but an
// X-Request-Id of its own making).
function startUpstream() {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const seen = {
        method: req.method, url: req.url, headers: req.headers, rawHeaders: req.rawHeaders,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      const created = req.url.split('?')[0].endsWith('/created');
      res.writeHead(created ? 201 : 200, {
        'content-type': 'application/json',
        ...(created ? {
          'x-upstream': 'made-it', location: '/invoices/42', 'x-request-id': 'minted-by-upstream',
        } : {}),
      });
      res.end(JSON.stringify(seen));
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

// How many times a header (any case) appears among the raw header lines node received.
function headerCount(seen, name) {
  let n = 0;
  for (let i = 0; i < seen.rawHeaders.length; i += 2) {
    if (seen.rawHeaders[i].toLowerCase() === name.toLowerCase()) n++;
  }
  return n;
}

// One request written byte for byte (fetch folds repeated fields into one); the status, the
// WWW-Authenticate value and the body of the answer.
function rawRequest(port, lines) {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end([...lines, 'Connection: close', '', ''].join('\r\n'));
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d) => (data += d));
    socket.on('error', reject);
    socket.on('end', () => {
      const [head, ...rest] = data.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      const challenge = /^www-authenticate: *(.*)$/im.exec(head)?.[1];
      resolve({ status, head, challenge, body: rest.join('\r\n\r\n') });
    });
  });
}

// RFC 6750 §3.1 and RFC 9449 §7.1: no token where Bearer and DPoP are both accepted names both
// schemes, with no error code (the gateway's DPoP verifier allows these algorithms).
const NO_TOKEN_CHALLENGE = 'Bearer realm="api", DPoP realm="api", algs="ES256 PS256 EdDSA Ed25519"';

// The parts of a JWT, decoded.
function decode(jwt) {
  const [h, p] = jwt.split('.');
  return {
    header: JSON.parse(Buffer.from(h, 'base64url')),
    payload: JSON.parse(Buffer.from(p, 'base64url')),
  };
}

// API keys (policy api_key): the config holds only their SHA-256.
const KEYS = {
  reader: randomBytes(32).toString('base64url'),   // invoices:read, the route's plan
  writer: randomBytes(32).toString('base64url'),   // invoices:write only
  partner: randomBytes(32).toString('base64url'),  // invoices:read, its own plan: 1 per hour
};
const LEGACY_PASSWORD = `pw-${randomBytes(9).toString('base64url')}`;
const sha256Hex = (s) => createHash('sha256').update(s).digest('hex');

const env = {
  dir: undefined, server: undefined, upstream: undefined, issuer: undefined,
  gateway: undefined, gatewayPort: undefined, service: undefined, introspector: undefined,
};

// A JSON error in the RFC 6750 §3 shape from the gateway: status, challenge, body.
async function call(path, { token, headers = {}, ...init } = {}) {
  const r = await fetch(env.gateway + path, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
  });
  const text = await r.text();
  assert.notEqual(r.status, 500, text);
  let body;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: r.status, headers: r.headers, text, body };
}

// A client credentials token of the service client (RFC 6749 §4.4) for `resource` (RFC 8707).
async function serviceToken(resource, scope) {
  const r = await form(`${env.issuer}/token`, {
    grant_type: 'client_credentials', resource, ...(scope ? { scope } : {}),
  }, basic(env.service.client_id, env.service.client_secret));
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

// RFC 7662 at the issuer, as the gateway's introspection client.
async function introspect(token) {
  const r = await form(`${env.issuer}/introspect`, { token },
    basic(env.introspector.client_id, env.introspector.client_secret));
  assert.equal(r.status, 200, r.text);
  return r.body;
}

// Asserts an RFC 6750 §3 error: status, error code in the challenge and the JSON body.
function assertBearerError(r, status, error) {
  assert.equal(r.status, status, r.text);
  const challenge = r.headers.get('www-authenticate');
  assert.ok(challenge, 'WWW-Authenticate is set');
  assert.match(challenge, /^Bearer realm="api"/);
  assert.match(challenge, new RegExp(`error="${error}"`));
  assert.match(r.headers.get('content-type'), /application\/json/);
  assert.equal(r.body?.error, error, r.text);
}

before(async () => {
  env.dir = mkdtempSync(join(tmpdir(), 'tessera-gateway-'));
  env.upstream = await startUpstream();
  const up = `http://127.0.0.1:${env.upstream.address().port}`;
  const [port, gatewayPort, closedPort, fgaPort] =
    [await freePort(), await freePort(), await freePort(), await freePort()];
  env.issuer = `http://127.0.0.1:${port}`;
  env.gateway = `http://127.0.0.1:${gatewayPort}`;
  env.gatewayPort = gatewayPort;
  const db = join(env.dir, 'tessera.db');
  const secretKey = join(env.dir, 'secret.key');
  writeFileSync(secretKey, randomBytes(32).toString('base64url'), { mode: 0o600 });
  const storeOnly = join(env.dir, 'store.yaml');
  writeFileSync(storeOnly, `store:\n  driver: sqlite\n  path: ${db}\n`);

  // The clients, on the store the server will open, before it starts.
  const create = (...args) =>
    JSON.parse(ok(['client', 'create', ...args, '--json', '--config', storeOnly]));
  env.service = create('--id', 'billing', '--grant-type', 'client_credentials',
    '--scope', 'invoices:read invoices:write',
    '--audience', JWT_AUD, '--audience', OPAQUE_AUD, '--audience', OTHER_AUD);
  // The resource server behind the opaque audience: introspection shows it the tokens for that
  // audience (src/oauth/introspection.cpp may_introspect).
  env.introspector = create('--id', 'gateway-rs', '--grant-type', 'client_credentials',
    '--audience', OPAQUE_AUD);
  assert.ok(env.service.client_secret && env.introspector.client_secret);
  // The fga role's store for the routes' fine-grained checks, made with `tessera fga` too.
  const fgaStore = JSON.parse(ok(['fga', 'store', 'create', '--name', 'gateway-test', '--config', storeOnly])).id;
  const modelFile = join(env.dir, 'docs.fga');
  writeFileSync(modelFile, 'model\n  schema 1.1\ntype user\ntype doc\n  relations\n' +
    '    define viewer: [user]\n    define editor: [user]\n');
  ok(['fga', 'model', 'write', '--store', fgaStore, '--file', modelFile, '--config', storeOnly]);
  ok(['fga', 'tuple', 'write', '--store', fgaStore, '--tuple', `doc:d1 viewer user:${env.service.client_id}`,
    '--config', storeOnly]);
  const fgaKey = randomBytes(32).toString('base64url');
  const fgaKeyFile = join(env.dir, 'fga.key');
  writeFileSync(fgaKeyFile, fgaKey + '\n', { mode: 0o600 });
  // A legacy client's password, kept only as an argon2id hash (tessera user hash-password).
  env.legacyHash = ok(['user', 'hash-password'], LEGACY_PASSWORD).trim();
  assert.match(env.legacyHash, /^\$argon2id\$/);
  const introspectorSecret = join(env.dir, 'introspector.secret');
  writeFileSync(introspectorSecret, env.introspector.client_secret + '\n', { mode: 0o600 });

  const route = (name, prefix, extra) => [
    `    - name: ${name}`,
    `      path_prefix: ${prefix}`,
    ...extra.map((l) => `      ${l}`),
  ];
  const config = [
    'roles: [as, gateway, fga]',
    'http:',
    `  listen: 127.0.0.1:${port}`,
    'store:',
    '  driver: sqlite',
    `  path: ${db}`,
    'as:',
    `  issuer: ${env.issuer}`,
    `  secret_key_file: ${secretKey}`,
    '  scopes_supported: [invoices:read, invoices:write]',
    '  audiences:',
    `    ${JWT_AUD}:`,
    '      access_token_format: jwt',
    `    ${OPAQUE_AUD}:`,
    '      access_token_format: opaque',
    `    ${OTHER_AUD}:`,
    '      access_token_format: jwt',
    'fga:',
    `  port: ${fgaPort}`,
    `  preshared_keys_sha256: [${sha256Hex(fgaKey)}]`,
    'gateway:',
    `  port: ${gatewayPort}`,
    '  fga:',
    `    url: http://127.0.0.1:${fgaPort}`,
    `    store_id: ${fgaStore}`,
    `    token_file: ${fgaKeyFile}`,
    '  realm: api',
    `  audiences: [${JWT_AUD}]`,
    '  upstream_timeout_ms: 5000',
    '  introspection:',
    `    client_id: ${env.introspector.client_id}`,
    `    client_secret_file: ${introspectorSecret}`,
    `    audiences: [${OPAQUE_AUD}]`,
    '    cache_seconds: 5',
    '  rate_plans:',
    '    - {name: per-client, quota: 3, window_seconds: 3600}',
    '    - {name: per-ip, quota: 2, window_seconds: 3600}',
    '    - {name: keys, quota: 100, window_seconds: 60}',
    '    - {name: partner, quota: 1, window_seconds: 3600}',
    '  api_keys:',
    `    - {id: reader-key, owner: acme, sha256: ${sha256Hex(KEYS.reader)}, scopes: [invoices:read]}`,
    `    - {id: writer-key, owner: acme, sha256: ${sha256Hex(KEYS.writer)}, scopes: [invoices:write]}`,
    `    - {id: partner-key, owner: globex, sha256: ${sha256Hex(KEYS.partner)}, scopes: [invoices:read], rate_plan: partner}`,
    '  basic_users:',
    `    - {username: legacy, password_hash: '${env.legacyHash}', scopes: [invoices:read]}`,
    '  cors_origins: [http://app.example]',
    '  routes:',
    ...route('jwt', '/jwt', [
      `upstream: ${up}`, 'policy: jwt', 'scopes: [invoices:read]',
      'claim_headers: {X-User: sub, X-Client: client_id, X-Scope: scope}']),
    ...route('write', '/write', [`upstream: ${up}`, 'policy: jwt', 'scopes: [invoices:write]']),
    ...route('any', '/any', [`upstream: ${up}`, 'policy: jwt',
      'scopes: [invoices:admin, invoices:read]', 'scope_match: any']),
    ...route('opaque', '/opaque', [`upstream: ${up}`, 'policy: introspect',
      'scopes: [invoices:read]', 'claim_headers: {X-User: sub, X-Client: client_id}']),
    ...route('phantom', '/phantom', [`upstream: ${up}`, 'policy: phantom',
      'scopes: [invoices:read]']),
    ...route('limited', '/limited', [`upstream: ${up}`, 'policy: jwt',
      'rate_limit: {plan: per-client, by: client}']),
    ...route('by-ip', '/by-ip', [`upstream: ${up}`, 'policy: none',
      'rate_limit: {plan: per-ip, by: address}']),
    ...route('keyed', '/keyed', [`upstream: ${up}`, 'policy: api_key', 'scopes: [invoices:read]',
      'claim_headers: {X-Client: client_id, X-Owner: sub}', 'rate_limit: {plan: keys}']),
    ...route('docs', '/docs', [`upstream: ${up}`, 'policy: jwt',
      'fga: {object_type: doc, relations: {GET: viewer, PUT: editor}}']),
    ...route('legacy', '/legacy', [`upstream: ${up}`, 'policy: basic', 'scopes: [invoices:read]',
      'claim_headers: {X-User: sub}']),
    ...route('public', '/public', [`upstream: ${up}`, 'policy: none', 'methods: [GET, POST]']),
    ...route('strip', '/strip', [`upstream: ${up}/base`, 'policy: none', 'strip_prefix: true']),
    ...route('step-acr', '/step-acr', [`upstream: ${up}`, 'policy: jwt',
      'acr_values: [urn:tessera:acr:mfa]']),
    ...route('step-age', '/step-age', [`upstream: ${up}`, 'policy: jwt', 'max_age: 0']),
    ...route('down', '/down', [`upstream: http://127.0.0.1:${closedPort}`, 'policy: none']),
    '',
  ].join('\n');
  const configFile = join(env.dir, 'tessera.yaml');
  writeFileSync(configFile, config);
  env.server = startTessera(['serve', '--config', configFile]);
  const ready = async (base) => {
    try {
      return (await fetch(base + '/readyz')).status === 200;
    } catch {
      return false;
    }
  };
  await waitFor(async () => {
    if (env.server.child.exitCode !== null) {
      throw new Error(`tessera serve exited: ${env.server.err()}`);
    }
    return (await ready(env.issuer)) && (await ready(env.gateway));
  }, 'both listeners ready');
});

after(async () => {
  if (env.server) {
    env.server.child.kill('SIGTERM');
    const { code } = await env.server.exited;
    assert.equal(code, 0, env.server.err());
    // Secrets and tokens never reach the logs.
    assert.ok(!env.server.err().includes(env.service.client_secret), 'a client secret leaked');
    assert.ok(!env.server.err().includes(env.introspector.client_secret), 'a secret leaked');
  }
  await new Promise((r) => (env.upstream ? env.upstream.close(r) : r()));
  if (env.dir) rmSync(env.dir, { recursive: true, force: true });
});

describe('policy jwt', () => {
  test('a valid JWT reaches the upstream with the claims as headers and the JWT itself',
    async () => {
      const jwt = await serviceToken(JWT_AUD, 'invoices:read');
      const { header, payload } = decode(jwt);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(payload.aud, JWT_AUD);
      const r = await call('/jwt/invoices/7', { token: jwt });
      assert.equal(r.status, 200, r.text);
      const seen = r.body;
      assert.equal(seen.method, 'GET');
      assert.equal(seen.url, '/jwt/invoices/7');
      assert.equal(seen.headers['x-user'], env.service.client_id);
      assert.equal(seen.headers['x-client'], env.service.client_id);
      assert.equal(seen.headers['x-scope'], 'invoices:read');
      // policy jwt with forward_authorization (the default): the same JWT goes on.
      assert.equal(seen.headers.authorization, `Bearer ${jwt}`);
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.headers['x-forwarded-proto'], 'http');
      assert.equal(seen.headers['x-forwarded-host'], `127.0.0.1:${env.gatewayPort}`);
    });

  test('headers a client sends under the claim headers names are replaced, never passed on',
    async () => {
      const jwt = await serviceToken(JWT_AUD, 'invoices:read invoices:write');
      const r = await call('/jwt/me', {
        token: jwt,
        headers: {
          'x-user': 'admin', 'X-Client': 'someone-else', 'x-scope': 'invoices:admin',
          'x-forwarded-for': '203.0.113.9', 'x-custom': 'kept',
        },
      });
      assert.equal(r.status, 200, r.text);
      const seen = r.body;
      assert.equal(seen.headers['x-user'], env.service.client_id);
      assert.equal(seen.headers['x-client'], env.service.client_id);
      assert.equal(seen.headers['x-scope'], 'invoices:read invoices:write');
      for (const name of ['x-user', 'x-client', 'x-scope', 'x-forwarded-for']) {
        assert.equal(headerCount(seen, name), 1, `${name}: ${JSON.stringify(seen.rawHeaders)}`);
      }
      assert.equal(seen.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(seen.headers['x-custom'], 'kept');
    });

  test('query string, method and body go upstream as sent', async () => {
    const jwt = await serviceToken(JWT_AUD, 'invoices:read');
    const payload = JSON.stringify({ amount: 12.5, note: 'é & ü', lines: [1, 2, 3] });
    const r = await call('/jwt/items?x=1&y=a%20b&z=%2F', {
      token: jwt, method: 'POST', body: payload,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.method, 'POST');
    assert.equal(r.body.url, '/jwt/items?x=1&y=a%20b&z=%2F');
    assert.equal(r.body.body, payload);
    assert.equal(r.body.headers['content-type'], 'application/json; charset=utf-8');
    assert.equal(Number(r.body.headers['content-length']), Buffer.byteLength(payload));
  });

  test("the upstream's status and headers come back to the client", async () => {
    const jwt = await serviceToken(JWT_AUD, 'invoices:read');
    const r = await call('/jwt/created', { token: jwt, method: 'POST', body: '{}' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('x-upstream'), 'made-it');
    assert.equal(r.headers.get('location'), '/invoices/42');
    assert.equal(r.body.url, '/jwt/created');
    // The client gets the request id the gateway logged and sent upstream, not another one.
    assert.match(r.body.headers['x-request-id'], /^\S+$/);
    assert.equal(r.headers.get('x-request-id'), r.body.headers['x-request-id']);
  });

  test('no token: 401 with the bare challenges of both schemes and a JSON body', async () => {
    const r = await call('/jwt/invoices');
    assert.equal(r.status, 401, r.text);
    assert.equal(r.headers.get('www-authenticate'), NO_TOKEN_CHALLENGE);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.equal(typeof r.body, 'object');
    assert.equal(r.body.error, undefined);
    // Another scheme is no bearer token either (RFC 6750 §3.1).
    const basicAuth = await call('/jwt/invoices', { headers: basic('a', 'b') });
    assert.equal(basicAuth.status, 401, basicAuth.text);
    assert.equal(basicAuth.headers.get('www-authenticate'), NO_TOKEN_CHALLENGE);
  });

  test('a tampered signature or payload is invalid_token', async () => {
    const jwt = await serviceToken(JWT_AUD, 'invoices:read');
    const [h, p, s] = jwt.split('.');
    // A character in the middle of the signature, so the decoded bytes surely change.
    const i = Math.floor(s.length / 2);
    const flipped = s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
    assertBearerError(await call('/jwt/x', { token: `${h}.${p}.${flipped}` }), 401,
      'invalid_token');
    // The same signature over a payload that claims more.
    const claims = decode(jwt).payload;
    const forged = Buffer.from(JSON.stringify({ ...claims, scope: 'invoices:read invoices:write' }))
      .toString('base64url');
    assertBearerError(await call('/write/x', { token: `${h}.${forged}.${s}` }), 401,
      'invalid_token');
    // The untouched token still works, so the failures above are the tampering's.
    assert.equal((await call('/jwt/x', { token: jwt })).status, 200);
  });

  test('garbage, alg none and expired-looking tokens are invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const claims = {
      iss: env.issuer, aud: JWT_AUD, sub: 'x', client_id: 'x', scope: 'invoices:read',
      jti: 'j', iat: now - 7200, exp: now - 3600,
    };
    const kid = decode(await serviceToken(JWT_AUD, 'invoices:read')).header.kid;
    for (const token of [
      'garbage',
      'a.b.c',
      `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64({ ...claims, exp: now + 3600 })}.`,
      `${b64({ alg: 'ES256', typ: 'at+jwt', kid })}.${b64(claims)}.${'A'.repeat(86)}`,
    ]) {
      assertBearerError(await call('/jwt/x', { token }), 401, 'invalid_token');
    }
    // Not a b64token at all: a malformed request (RFC 6750 §3.1).
    const r = await call('/jwt/x', { headers: { authorization: 'Bearer a b' } });
    assertBearerError(r, 400, 'invalid_request');
  });

  test("a token for an audience the gateway does not serve is invalid_token", async () => {
    const other = await serviceToken(OTHER_AUD, 'invoices:read');
    assert.equal(decode(other).payload.aud, OTHER_AUD);
    const r = await call('/jwt/x', { token: other });
    assertBearerError(r, 401, 'invalid_token');
    assert.match(r.body.error_description, /aud/i);
    // An opaque token of the other format is no JWT for a jwt route.
    const opaque = await serviceToken(OPAQUE_AUD, 'invoices:read');
    assert.equal(opaque.split('.').length, 1, 'the ledger audience gets opaque tokens');
    assertBearerError(await call('/jwt/x', { token: opaque }), 401, 'invalid_token');
  });

  test('a missing scope is 403 insufficient_scope naming the scope', async () => {
    const readOnly = await serviceToken(JWT_AUD, 'invoices:read');
    const r = await call('/write/invoices', { token: readOnly, method: 'POST', body: '{}' });
    assertBearerError(r, 403, 'insufficient_scope');
    assert.match(r.headers.get('www-authenticate'), /scope="invoices:write"/);
    const writer = await serviceToken(JWT_AUD, 'invoices:write');
    const w = await call('/write/invoices', { token: writer, method: 'POST', body: '{}' });
    assert.equal(w.status, 200, w.text);
    assert.equal(w.body.url, '/write/invoices');
    // /jwt needs invoices:read, which the writer's token lacks.
    assertBearerError(await call('/jwt/x', { token: writer }), 403, 'insufficient_scope');
  });

  test('scope_match any: one of the scopes is enough, none is 403 naming them all', async () => {
    const reader = await serviceToken(JWT_AUD, 'invoices:read');
    assert.equal((await call('/any/x', { token: reader })).status, 200);
    const writer = await serviceToken(JWT_AUD, 'invoices:write');
    const r = await call('/any/x', { token: writer });
    assertBearerError(r, 403, 'insufficient_scope');
    assert.match(r.headers.get('www-authenticate'), /scope="invoices:admin invoices:read"/);
  });

  test('step-up: a token without the acr or a recent auth_time gets the RFC 9470 challenge',
    async () => {
      const jwt = await serviceToken(JWT_AUD, 'invoices:read');
      assert.equal(decode(jwt).payload.acr, undefined);
      const acr = await call('/step-acr/x', { token: jwt });
      assertBearerError(acr, 401, 'insufficient_user_authentication');
      assert.match(acr.headers.get('www-authenticate'), /acr_values="urn:tessera:acr:mfa"/);
      assert.doesNotMatch(acr.headers.get('www-authenticate'), /max_age/);
      const age = await call('/step-age/x', { token: jwt });
      assertBearerError(age, 401, 'insufficient_user_authentication');
      assert.match(age.headers.get('www-authenticate'), /max_age="0"/);
      assert.doesNotMatch(age.headers.get('www-authenticate'), /acr_values/);
    });

  test('two Authorization headers are 400 invalid_request', async () => {
    const jwt = await serviceToken(JWT_AUD, 'invoices:read');
    const r = await rawRequest(env.gatewayPort, [
      'GET /jwt/x HTTP/1.1', `Host: 127.0.0.1:${env.gatewayPort}`,
      `Authorization: Bearer ${jwt}`, `Authorization: Bearer ${jwt}`,
    ]);
    assert.equal(r.status, 400, r.head);
    assert.match(r.challenge ?? '', /error="invalid_request"/, r.head);
    assert.equal(JSON.parse(r.body).error, 'invalid_request');
    // The same request with one field goes through, so the 400 is the repetition's.
    const one = await rawRequest(env.gatewayPort, [
      'GET /jwt/x HTTP/1.1', `Host: 127.0.0.1:${env.gatewayPort}`, `Authorization: Bearer ${jwt}`,
    ]);
    assert.equal(one.status, 200, one.head);
  });
});

describe('policy introspect', () => {
  test('an opaque token is introspected; the upstream gets its claims, not the token',
    async () => {
      const opaque = await serviceToken(OPAQUE_AUD, 'invoices:read');
      const r = await call('/opaque/ledger?page=2', { token: opaque });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.url, '/opaque/ledger?page=2');
      assert.equal(r.body.headers.authorization, undefined);
      assert.equal(headerCount(r.body, 'authorization'), 0);
      assert.equal(r.body.headers['x-user'], env.service.client_id);
      assert.equal(r.body.headers['x-client'], env.service.client_id);
      assert.ok(!r.text.includes(opaque), 'the opaque token reached the upstream');
    });

  test('the route still checks scopes on an introspected token', async () => {
    const opaque = await serviceToken(OPAQUE_AUD, 'invoices:write');
    const r = await call('/opaque/ledger', { token: opaque });
    assertBearerError(r, 403, 'insufficient_scope');
    assert.match(r.headers.get('www-authenticate'), /scope="invoices:read"/);
  });

  test('unknown and revoked-before-use opaque tokens are invalid_token', async () => {
    assertBearerError(await call('/opaque/x', { token: randomBytes(32).toString('base64url') }),
      401, 'invalid_token');
    const opaque = await serviceToken(OPAQUE_AUD, 'invoices:read');
    const revoked = await form(`${env.issuer}/revoke`, { token: opaque },
      basic(env.service.client_id, env.service.client_secret));
    assert.equal(revoked.status, 200, revoked.text);
    assert.equal((await introspect(opaque)).active, false);
    assertBearerError(await call('/opaque/x', { token: opaque }), 401, 'invalid_token');
  });

  test('a token revoked after the gateway accepted it: what the introspection cache does',
    async () => {
      const opaque = await serviceToken(OPAQUE_AUD, 'invoices:read');
      assert.equal((await introspect(opaque)).active, true);
      assert.equal((await call('/opaque/x', { token: opaque })).status, 200);
      const revoked = await form(`${env.issuer}/revoke`, { token: opaque },
        basic(env.service.client_id, env.service.client_secret));
      assert.equal(revoked.status, 200, revoked.text);
      // The issuer knows at once (RFC 7009 §2.2)...
      assert.equal((await introspect(opaque)).active, false);
      // ...and the gateway, which trusts an active answer for gateway.introspection.cache_seconds
      // (5 here, room for a loaded machine; RFC 7662 §4), still accepts it from its cache until
      // that time is up...
      const again = await call('/opaque/x', { token: opaque });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.body.headers['x-user'], env.service.client_id);
      // ...and then asks the issuer again and refuses it.
      await new Promise((r) => setTimeout(r, 5100));
      assertBearerError(await call('/opaque/x', { token: opaque }), 401, 'invalid_token');
    });

  test('a JWT is not accepted on an introspect route, nor an opaque token on a jwt route',
    async () => {
      const jwt = await serviceToken(JWT_AUD, 'invoices:read');
      assertBearerError(await call('/opaque/x', { token: jwt }), 401, 'invalid_token');
      const opaque = await serviceToken(OPAQUE_AUD, 'invoices:read');
      assertBearerError(await call('/jwt/x', { token: opaque }), 401, 'invalid_token');
    });
});

// RFC 9701 phantom tokens: opaque outside, the issuer's signed introspection response inside.
describe('policy phantom', () => {
  test('the upstream gets the signed introspection response as its bearer token, never the opaque one',
    async () => {
      const opaque = await serviceToken(OPAQUE_AUD, 'invoices:read');
      const r = await call('/phantom/ledger', { token: opaque });
      assert.equal(r.status, 200, r.text);
      assert.ok(!r.text.includes(opaque), 'the opaque token reached the upstream');
      assert.equal(headerCount(r.body, 'authorization'), 1);
      const [scheme, jwt] = r.body.headers.authorization.split(' ');
      assert.equal(scheme, 'Bearer');
      // Signed by the issuer's key from its JWKS, typed, for the gateway's client (RFC 9701 §5).
      const jwks = jose.createRemoteJWKSet(new URL(`${env.issuer}/jwks`));
      const { payload, protectedHeader } = await jose.jwtVerify(jwt, jwks, {
        issuer: env.issuer, audience: env.introspector.client_id, typ: 'token-introspection+jwt',
      });
      assert.equal(protectedHeader.typ, 'token-introspection+jwt');
      const answer = payload.token_introspection;
      assert.equal(answer.active, true);
      assert.equal(answer.client_id, env.service.client_id);
      assert.equal(answer.scope, 'invoices:read');
      assert.deepEqual([answer.aud].flat(), [OPAQUE_AUD]);
    });

  test('scopes and invalid tokens are checked before anything goes upstream', async () => {
    const writeOnly = await serviceToken(OPAQUE_AUD, 'invoices:write');
    assertBearerError(await call('/phantom/x', { token: writeOnly }), 403, 'insufficient_scope');
    assertBearerError(await call('/phantom/x', { token: randomBytes(32).toString('base64url') }),
      401, 'invalid_token');
    assertBearerError(await call('/phantom/x', { token: await serviceToken(JWT_AUD, 'invoices:read') }),
      401, 'invalid_token');
  });
});

describe('routing and upstreams', () => {
  test('policy none passes requests without a token', async () => {
    const r = await call('/public/status?verbose=1');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.url, '/public/status?verbose=1');
    assert.equal(r.body.headers['x-forwarded-for'], '127.0.0.1');
  });

  test('strip_prefix forwards the rest of the path under the upstream base path', async () => {
    const r = await call('/strip/a/b?q=1');
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.url, '/base/a/b?q=1');
  });

  test('prefixes match whole segments; an unknown path is 404 JSON', async () => {
    for (const path of ['/nowhere', '/stripx/a', '/jwtx', '/']) {
      const r = await call(path);
      assert.equal(r.status, 404, `${path}: ${r.text}`);
      assert.match(r.headers.get('content-type'), /application\/json/);
      assert.equal(typeof r.body?.error, 'string', r.text);
    }
  });

  test('a method the route does not allow is 405 JSON', async () => {
    const r = await call('/public/x', { method: 'DELETE' });
    assert.equal(r.status, 405, r.text);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.equal(typeof r.body?.error, 'string', r.text);
    assert.equal((await call('/public/x', { method: 'POST', body: 'x' })).status, 200);
  });

  test('an upstream that cannot be reached is 502 JSON', async () => {
    const r = await call('/down/x');
    assert.equal(r.status, 502, r.text);
    assert.match(r.headers.get('content-type'), /application\/json/);
    assert.equal(r.body?.error, 'bad_gateway', r.text);
  });

  // The gateway's families (gateway.md, Metrics) on both listeners' /metrics: what the test's
  // own requests add to each series, read before and after.
  test('/metrics counts answers per route and status, upstream calls, and claims-cache hits',
    async () => {
      const scrape = async (base) => {
        const r = await fetch(base + '/metrics');
        assert.equal(r.status, 200);
        assert.match(r.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
        const samples = new Map();
        for (const line of (await r.text()).split('\n')) {
          if (line === '' || line.startsWith('#')) continue;
          const space = line.lastIndexOf(' ');
          const series = line.slice(0, space);
          assert.ok(!samples.has(series), `series given twice: ${series}`);
          samples.set(series, Number(line.slice(space + 1)));
        }
        return samples;
      };
      const series = {
        ok: 'tessera_gateway_requests_total{route="jwt",status="200"}',
        refused: 'tessera_gateway_requests_total{route="jwt",status="401"}',
        down: 'tessera_gateway_requests_total{route="down",status="502"}',
        unrouted: 'tessera_gateway_requests_total{route="<unrouted>",status="404"}',
        upstream: 'tessera_gateway_upstream_duration_seconds_count{route="jwt"}',
        hits: 'tessera_gateway_claims_cache_hits_total{policy="jwt"}',
        misses: 'tessera_gateway_claims_cache_misses_total{policy="jwt"}',
      };
      const before = await scrape(env.issuer);
      const token = await serviceToken(JWT_AUD, 'invoices:read');
      for (let i = 0; i < 3; i++) assert.equal((await call('/jwt/x', { token })).status, 200);
      assert.equal((await call('/jwt/x')).status, 401);
      assert.equal((await call('/down/x')).status, 502);
      assert.equal((await call('/nowhere')).status, 404);
      for (const base of [env.issuer, env.gateway]) {
        const after = await scrape(base);
        const added = (name) => (after.get(series[name]) ?? 0) - (before.get(series[name]) ?? 0);
        assert.deepEqual(
          Object.fromEntries(Object.keys(series).map((name) => [name, added(name)])),
          { ok: 3, refused: 1, down: 1, unrouted: 1, upstream: 3, hits: 2, misses: 1 }, base);
      }
    });
});

// Token buckets per route (RFC 6585 §4, draft-ietf-httpapi-ratelimit-headers-11).
describe('rate limits', () => {
  test('per client: the burst passes with RateLimit fields, then 429 with Retry-After', async () => {
    const token = await serviceToken(JWT_AUD, 'invoices:read');
    for (const left of [2, 1, 0]) {
      const r = await call('/limited/x', { token });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('ratelimit-policy'), '"per-client";q=3;w=3600');
      assert.match(r.headers.get('ratelimit'), new RegExp(`^"per-client";r=${left};t=\\d+$`));
    }
    // Another token of the same client shares the bucket: it is counted by client_id.
    const again = await call('/limited/x', { token: await serviceToken(JWT_AUD, 'invoices:read') });
    assert.equal(again.status, 429, again.text);
    assert.equal(again.body.error, 'rate_limited');
    assert.ok(Number(again.headers.get('retry-after')) >= 1);
    assert.match(again.headers.get('ratelimit'), /^"per-client";r=0;t=\d+$/);
    assert.equal(again.headers.get('cache-control'), 'no-store');
  });

  test('an invalid token is refused before it is counted', async () => {
    assertBearerError(await call('/limited/x', { token: 'garbage' }), 401, 'invalid_token');
  });

  test('per address: before any token is looked at', async () => {
    assert.equal((await call('/by-ip/a')).status, 200);
    assert.equal((await call('/by-ip/b')).status, 200);
    const third = await call('/by-ip/c');
    assert.equal(third.status, 429, third.text);
    assert.ok(Number(third.headers.get('retry-after')) >= 1);
  });
});

describe('policy api_key', () => {
  const key = (k) => ({ headers: { 'x-api-key': k } });

  test('a known key passes with its owner and id as claims; the key stays at the edge', async () => {
    const r = await call('/keyed/orders', key(KEYS.reader));
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.headers['x-client'], 'reader-key');
    assert.equal(r.body.headers['x-owner'], 'acme');
    assert.equal(r.body.headers['x-api-key'], undefined);
    assert.ok(!r.text.includes(KEYS.reader), 'the key reached the upstream');
    assert.equal(r.headers.get('ratelimit-policy'), '"keys";q=100;w=60');
  });

  test('no key, an unknown key, two keys: 401 with the ApiKey challenge', async () => {
    for (const init of [{}, key(randomBytes(32).toString('base64url')), key(KEYS.reader.slice(1))]) {
      const r = await call('/keyed/x', init);
      assert.equal(r.status, 401, r.text);
      assert.equal(r.headers.get('www-authenticate'), 'ApiKey realm="api", header="X-API-Key"');
      assert.match(r.body.error, /^(invalid_request|invalid_key)$/);
    }
    const two = await rawRequest(env.gatewayPort, ['GET /keyed/x HTTP/1.1', 'Host: 127.0.0.1',
      `X-API-Key: ${KEYS.reader}`, `X-API-Key: ${KEYS.reader}`]);
    assert.equal(two.status, 401, two.body);
  });

  test("a key without the route's scope is 403 insufficient_scope", async () => {
    const r = await call('/keyed/x', key(KEYS.writer));
    assertBearerError(r, 403, 'insufficient_scope');
  });

  test("a key's own rate plan is counted per key", async () => {
    assert.equal((await call('/keyed/x', key(KEYS.partner))).status, 200);
    const second = await call('/keyed/x', key(KEYS.partner));
    assert.equal(second.status, 429, second.text);
    assert.match(second.headers.get('ratelimit-policy'), /"partner";q=1;w=3600/);
    // Other keys are not affected.
    assert.equal((await call('/keyed/x', key(KEYS.reader))).status, 200);
  });
});

// The route's fine-grained check against the fga role (OpenFGA Check): object from the path,
// relation from the method, user from the token's sub.
describe('per-route fga check', () => {
  test('a viewer may GET the object; others are 403; the upstream sees only what passed', async () => {
    const token = await serviceToken(JWT_AUD, 'invoices:read');
    const allowed = await call('/docs/d1', { token });
    assert.equal(allowed.status, 200, allowed.text);
    assert.equal(allowed.body.url, '/docs/d1');
    const other = await call('/docs/d2/pages', { token });
    assert.equal(other.status, 403, other.text);
    assert.equal(other.body.error, 'access_denied');
    const edit = await call('/docs/d1', { token, method: 'PUT', body: 'x' });
    assert.equal(edit.status, 403, 'the client is a viewer, not an editor');
  });

  test('collections and methods without a relation are left to the API', async () => {
    const token = await serviceToken(JWT_AUD, 'invoices:read');
    assert.equal((await call('/docs', { token })).status, 200);
    assert.equal((await call('/docs/d2', { token, method: 'POST', body: 'x' })).status, 200);
  });

  test('the token is checked before the fga role is asked', async () => {
    const r = await call('/docs/d1');
    assert.equal(r.status, 401, r.text);
    assert.equal(r.headers.get('www-authenticate'), NO_TOKEN_CHALLENGE);
  });
});

// HTTP Basic (RFC 7617) for legacy clients, against argon2id hashes.
describe('policy basic', () => {
  const basicAuth = (user, password) =>
    ({ headers: { authorization: 'Basic ' + Buffer.from(`${user}:${password}`).toString('base64') } });
  const CHALLENGE = 'Basic realm="api", charset="UTF-8"';

  test('the right password passes; the credentials stay at the edge', async () => {
    for (let i = 0; i < 2; i++) {  // the second from the verified-credentials cache
      const r = await call('/legacy/report', basicAuth('legacy', LEGACY_PASSWORD));
      assert.equal(r.status, 200, r.text);
      assert.equal(r.body.headers['x-user'], 'legacy');
      assert.equal(r.body.headers.authorization, undefined);
    }
  });

  test('a wrong password, an unknown user, no or other credentials: 401 with the Basic challenge',
    async () => {
      const token = await serviceToken(JWT_AUD, 'invoices:read');
      for (const init of [basicAuth('legacy', LEGACY_PASSWORD + 'x'), basicAuth('nobody', LEGACY_PASSWORD),
        {}, { token }, { headers: { authorization: 'Basic !!!' } }]) {
        const r = await call('/legacy/report', init);
        assert.equal(r.status, 401, r.text);
        assert.equal(r.headers.get('www-authenticate'), CHALLENGE);
        assert.equal(typeof r.body.error, 'string');
      }
    });
});

// CORS for browser apps on other origins (Fetch standard): preflights answered by the gateway.
describe('cors', () => {
  const APP = 'http://app.example';

  test('a preflight from an allowed origin is answered by the gateway', async () => {
    const r = await call('/jwt/x', {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization' },
    });
    assert.equal(r.status, 204, r.text);
    assert.equal(r.headers.get('access-control-allow-origin'), APP);
    assert.match(r.headers.get('access-control-allow-headers'), /Authorization/);
    assert.match(r.headers.get('access-control-allow-methods'), /GET/);
    assert.equal(r.headers.get('access-control-allow-credentials'), null);
  });

  test('answers to an allowed origin name it and expose the challenge; others get nothing',
    async () => {
      const refused = await call('/jwt/x', { headers: { origin: APP } });
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get('access-control-allow-origin'), APP);
      assert.match(refused.headers.get('access-control-expose-headers'), /WWW-Authenticate/);
      assert.match(refused.headers.get('vary'), /Origin/);
      const token = await serviceToken(JWT_AUD, 'invoices:read');
      const ok = await call('/jwt/x', { token, headers: { origin: APP } });
      assert.equal(ok.status, 200, ok.text);
      assert.equal(ok.headers.get('access-control-allow-origin'), APP);
      const other = await call('/jwt/x', { token, headers: { origin: 'http://evil.example' } });
      assert.equal(other.status, 200);
      assert.equal(other.headers.get('access-control-allow-origin'), null);
      const preflight = await call('/jwt/x', { method: 'OPTIONS',
        headers: { origin: 'http://evil.example', 'access-control-request-method': 'GET' } });
      assert.notEqual(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    });
});
