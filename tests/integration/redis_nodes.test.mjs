// Two `tessera serve` nodes sharing one store and one Redis (config `redis`, DESIGN.md
// "Scale-out"), as behind a load balancer: the same issuer URL, the same SQLite file, the same
// secret key. Redis (a real redis-server with a password, started here) holds what the nodes must
// agree on at once:
// - DPoP proof jti values (RFC 9449 §11.1): a proof spent at one node's token endpoint is refused
//   at the other;
// - the gateway's rate-limit buckets: one client's quota is shared by both gateways.
// With Redis gone, a DPoP proof is refused with 503 (the replay check fails closed) and each
// gateway counts rate limits alone. A node whose Redis cannot be reached at start-up does not start.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as jose from 'jose';
import { BIN, ok, freePort, startTessera, waitFor } from '../lib/tessera.mjs';
import { form, basic } from '../lib/demo.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const AUD = 'https://api.example';
const REDIS_PASSWORD = randomBytes(24).toString('base64url');
const env = { dir: undefined, redis: undefined, redisPort: 0, nodes: [], upstream: undefined };

// redis-server on `port`, answering PING (after AUTH) before this resolves.
async function startRedis(port) {
  const child = spawn('/usr/bin/redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
    '--dir', env.dir, '--requirepass', REDIS_PASSWORD,
  ], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await waitFor(() => new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(false);
    const s = connect(port, '127.0.0.1');
    let seen = '';
    s.on('data', (d) => {
      seen += d;
      if (seen.includes('+PONG')) { s.destroy(); resolve(true); }
    });
    s.on('error', () => resolve(false));
    s.on('connect', () => s.write(`AUTH ${REDIS_PASSWORD}\r\nPING\r\n`));
    setTimeout(() => { s.destroy(); resolve(false); }, 500);
  }), 'redis-server ready');
  return { child, exited };
}

async function stopRedis() {
  env.redis.child.kill('SIGTERM');
  await env.redis.exited;
}

async function ready(base) {
  try {
    return (await fetch(base + '/readyz')).status === 200;
  } catch {
    return false;
  }
}

function nodeConfig({ port, gatewayPort, redisPort }) {
  return [
    'roles: [as, gateway]',
    'http:',
    `  listen: 127.0.0.1:${port}`,
    'store:',
    '  driver: sqlite',
    `  path: ${join(env.dir, 'shared.db')}`,
    'as:',
    `  issuer: ${env.issuer}`,
    `  secret_key_file: ${join(env.dir, 'secret.key')}`,
    '  scopes_supported: [openid, invoices:read]',
    '  audiences:',
    `    ${AUD}: {access_token_format: jwt}`,
    'redis:',
    `  url: redis://127.0.0.1:${redisPort}/0`,
    `  password_file: ${join(env.dir, 'redis.password')}`,
    '  timeout_ms: 200',
    '  key_prefix: "it-shared:"',
    'gateway:',
    `  port: ${gatewayPort}`,
    `  audiences: [${AUD}]`,
    '  rate_plans:',
    '    - {name: per-client, quota: 3, window_seconds: 3600}',
    '  routes:',
    '    - name: limited',
    '      path_prefix: /limited',
    `      upstream: http://127.0.0.1:${env.upstream.address().port}`,
    '      policy: jwt',
    '      scopes: [invoices:read]',
    '      rate_limit: {plan: per-client, by: client}',
  ];
}

// Starts a node; resolves once its gateway answers /readyz.
async function startNode(name, ports) {
  const file = join(env.dir, `${name}.yaml`);
  writeFileSync(file, nodeConfig(ports).join('\n') + '\n');
  const server = startTessera(['serve', '--config', file]);
  await waitFor(async () => {
    if (server.child.exitCode !== null) throw new Error(`${name} exited: ${server.err()}`);
    return (await ready(`http://127.0.0.1:${ports.port}`)) &&
      ready(`http://127.0.0.1:${ports.gatewayPort}`);
  }, `${name} ready`);
  return { server, base: `http://127.0.0.1:${ports.port}`, gateway: `http://127.0.0.1:${ports.gatewayPort}` };
}

// An ES256 DPoP proof (RFC 9449 §4.2) for POST on the issuer's token endpoint: the URL both
// nodes serve it at behind the load balancer.
async function tokenProof(keys) {
  return new jose.SignJWT({ htm: 'POST', htu: `${env.issuer}/token`, jti: randomUUID() })
    .setProtectedHeader({ alg: 'ES256', typ: 'dpop+jwt', jwk: await jose.exportJWK(keys.publicKey) })
    .setIssuedAt()
    .sign(keys.privateKey);
}

async function tokenWithProof(node, proof) {
  return form(`${node.base}/token`, { grant_type: 'client_credentials', resource: AUD },
    { ...basic(env.client.client_id, env.client.client_secret), DPoP: proof });
}

async function bearerToken() {
  const r = await form(`${env.nodes[0].base}/token`, { grant_type: 'client_credentials', resource: AUD },
    basic(env.client.client_id, env.client.client_secret));
  assert.equal(r.status, 200, r.text);
  return r.body.access_token;
}

async function limited(node, token) {
  const r = await fetch(`${node.gateway}/limited/x`, { headers: { authorization: `Bearer ${token}` } });
  const text = await r.text();
  return { status: r.status, text, headers: r.headers };
}

before(async () => {
  env.dir = mkdtempSync(join(tmpdir(), 'tessera-redis-nodes-'));
  writeFileSync(join(env.dir, 'secret.key'), randomBytes(32).toString('base64url'), { mode: 0o600 });
  writeFileSync(join(env.dir, 'redis.password'), REDIS_PASSWORD + '\n', { mode: 0o600 });
  env.upstream = createHttpServer((req, res) => res.end('{"upstream":true}'));
  await new Promise((resolve) => env.upstream.listen(0, '127.0.0.1', resolve));
  env.redisPort = await freePort(1);
  env.redis = await startRedis(env.redisPort);
  const [a, aGw, b, bGw] = [await freePort(1), await freePort(1), await freePort(1), await freePort(1)];
  env.issuer = `http://127.0.0.1:${a}`;
  const storeFile = join(env.dir, 'store.yaml');
  writeFileSync(storeFile, `store:\n  driver: sqlite\n  path: ${join(env.dir, 'shared.db')}\n`);
  env.client = JSON.parse(ok(['client', 'create', '--grant-type', 'client_credentials',
    '--scope', 'invoices:read', '--audience', AUD, '--json', '--config', storeFile]));
  env.nodes.push(await startNode('a', { port: a, gatewayPort: aGw, redisPort: env.redisPort }));
  env.nodes.push(await startNode('b', { port: b, gatewayPort: bGw, redisPort: env.redisPort }));
});

after(async () => {
  for (const node of env.nodes) {
    node.server.child.kill('SIGTERM');
    const { code } = await node.server.exited;
    assert.equal(code, 0, node.server.err());
    assert.ok(!node.server.err().includes(REDIS_PASSWORD), 'the Redis password reached the log');
    assert.ok(!node.server.err().includes(env.client.client_secret), 'a client secret reached the log');
  }
  if (env.redis?.child.exitCode === null) await stopRedis();
  env.upstream?.close();
  rmSync(env.dir, { recursive: true, force: true });
});

test('a DPoP proof spent at one node is a replay at the other (RFC 9449 §11.1)', async () => {
  const keys = await jose.generateKeyPair('ES256');
  const proof = await tokenProof(keys);
  const first = await tokenWithProof(env.nodes[0], proof);
  assert.equal(first.status, 200, first.text);
  assert.equal(first.body.token_type, 'DPoP');
  const again = await tokenWithProof(env.nodes[1], proof);
  assert.equal(again.status, 400, again.text);
  assert.equal(again.body.error, 'invalid_dpop_proof');
  assert.match(again.body.error_description, /already used/);
  // A fresh proof with the same key is fine at either node.
  const fresh = await tokenWithProof(env.nodes[1], await tokenProof(keys));
  assert.equal(fresh.status, 200, fresh.text);
});

test('one client quota across both gateways', async () => {
  const token = await bearerToken();
  const answers = [];
  for (const node of [env.nodes[0], env.nodes[1], env.nodes[0]]) {
    const r = await limited(node, token);
    assert.equal(r.status, 200, r.text);
    answers.push(r.headers.get('ratelimit'));
  }
  assert.deepEqual(answers.map((a) => a.match(/r=(\d+)/)[1]), ['2', '1', '0']);
  const over = await limited(env.nodes[1], token);
  assert.equal(over.status, 429, over.text);
  assert.equal(JSON.parse(over.text).error, 'rate_limited');
  assert.ok(Number(over.headers.get('retry-after')) >= 1199, over.headers.get('retry-after'));
});

test('with Redis gone, DPoP proofs get 503 and gateways count alone', async () => {
  const token = await bearerToken();
  await stopRedis();
  const keys = await jose.generateKeyPair('ES256');
  const r = await tokenWithProof(env.nodes[0], await tokenProof(keys));
  assert.equal(r.status, 503, r.text);
  assert.equal(r.body.error, 'temporarily_unavailable');
  assert.equal(r.headers.get('retry-after'), '1');
  // Tokens without a proof need no replay check.
  assert.equal((await form(`${env.nodes[0].base}/token`, { grant_type: 'client_credentials', resource: AUD },
    basic(env.client.client_id, env.client.client_secret))).status, 200);
  // The client spent its shared quota above; counted alone, each gateway starts a fresh bucket.
  const alone = await limited(env.nodes[0], token);
  assert.equal(alone.status, 200, alone.text);
  assert.match(alone.headers.get('ratelimit'), /r=2/);
  // Redis back (empty): the shared buckets decide again.
  env.redis = await startRedis(env.redisPort);
  await waitFor(async () => (await limited(env.nodes[1], token)).headers.get('ratelimit')?.includes('r=2'),
    'shared buckets again', 10000);
  const shared = await limited(env.nodes[0], token);
  assert.match(shared.headers.get('ratelimit'), /r=1/);
});

test('a node whose Redis cannot be reached does not start', async () => {
  const port = await freePort(1);
  const closed = await freePort(1);
  const file = join(env.dir, 'unreachable.yaml');
  writeFileSync(file, nodeConfig({ port, gatewayPort: await freePort(1), redisPort: closed })
    .join('\n') + '\n');
  const server = startTessera(['serve', '--config', file]);
  const { code } = await server.exited;
  assert.equal(code, 1);
  assert.match(server.err(), /redis unavailable/);
  assert.ok(!server.err().includes(REDIS_PASSWORD));
});
