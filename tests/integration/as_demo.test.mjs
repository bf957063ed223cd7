// The `as`, `gateway` and `fga` roles of `tessera demo`: readiness line fields, credentials, signing key
// and FGA store kept per data directory, secret key file 0600.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, freePort, startTessera, waitFor } from '../lib/tessera.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

async function runOnce(dir) {
  const port = await freePort();
  const p = startTessera(['demo', '--port', String(port), '--data-dir', dir]);
  const out = await waitFor(() => p.out().includes('\n') && p.out(), 'readiness line');
  const line = JSON.parse(out.trim());
  const jwks = await (await fetch(line.issuer + '/jwks')).json();
  const svc = line.clients.service;
  const token = await fetch(line.issuer + '/token', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${svc.client_id}:${svc.client_secret}`).toString('base64'),
    },
    body: 'grant_type=client_credentials',
  });
  // The fga role (issue 5): OpenFGA's Check on the demo store with the preshared key.
  const check = await fetch(`${line.fga}/stores/${line.fga_store}/check`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${line.fga_token}` },
    body: JSON.stringify({ tuple_key: { user: 'user:bob', relation: 'viewer', object: 'invoice:inv-1' } }),
  });
  const checkBody = await check.json();
  // OpenID CIBA: the desk client asks for alice; she would approve at /ciba.
  const desk = line.clients.desk;
  const ciba = await fetch(line.issuer + '/bc-authorize', {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: 'Basic ' + Buffer.from(`${desk.client_id}:${desk.client_secret}`).toString('base64'),
    },
    body: 'scope=openid&login_hint=alice&binding_message=Desk%2042',
  });
  const cibaBody = await ciba.json();
  p.child.kill('SIGTERM');
  assert.equal((await p.exited).code, 0);
  return { line, port, jwks, tokenStatus: token.status, check: { status: check.status, body: checkBody },
    ciba: { status: ciba.status, body: cibaBody } };
}

test('demo runs the as, gateway and fga roles and keeps its credentials and key per data directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-as-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const first = await runOnce(dir);
  const second = await runOnce(dir);

  assert.equal(first.line.issuer, `http://127.0.0.1:${first.port}`);
  assert.deepEqual(first.line.roles, ['as', 'gateway', 'fga']);
  assert.equal(first.line.gateway, `http://127.0.0.1:${first.port + 1}`);
  assert.ok(first.line.instance_id);
  const svc = first.line.clients.service;
  assert.equal(svc.client_id, 'service');
  assert.match(svc.client_secret, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(svc.scope, 'invoices:read invoices:write');
  assert.equal(first.tokenStatus, 200);
  assert.equal(second.tokenStatus, 200);

  // DESIGN.md: credentials are random per data directory and the same directory keeps them.
  assert.deepEqual(second.line.clients.service, first.line.clients.service);
  assert.deepEqual(second.line.clients.exchange, first.line.clients.exchange);
  assert.deepEqual(second.line.clients.desk, first.line.clients.desk);
  assert.equal(first.line.clients.desk.grant_type, 'urn:openid:params:grant-type:ciba');
  assert.equal(first.ciba.status, 200, JSON.stringify(first.ciba.body));
  assert.match(first.ciba.body.auth_req_id, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(first.ciba.body.interval, 5);
  assert.deepEqual(second.line.users, first.line.users);
  assert.equal(first.line.users.alice.username, 'alice');
  assert.match(first.line.users.alice.password, /^[A-Za-z0-9_-]{16}$/);
  assert.match(first.line.users.bob.totp_secret, /^[A-Z2-7]{32}$/);
  assert.notEqual(first.line.users.alice.password, first.line.users.bob.password);
  assert.equal(first.line.clients.exchange.token_endpoint_auth_method, 'client_secret_post');
  // The SPA's redirect URIs follow the port of each start (the same data directory may be
  // served on another port).
  for (const run of [first, second]) {
    const spa = run.line.clients.spa;
    assert.equal(spa.client_id, 'spa');
    assert.equal(spa.client_secret, undefined, 'a public client has no secret');
    assert.deepEqual(spa.redirect_uris, [`http://127.0.0.1:${run.port}/demo/callback`,
      `http://127.0.0.1:${run.port}/demo/app`]);
    assert.deepEqual(spa.post_logout_redirect_uris, [`http://127.0.0.1:${run.port}/demo/signed-out`]);
  }
  assert.equal(second.line.instance_id, first.line.instance_id);
  assert.deepEqual(second.jwks, first.jwks, 'the signing key survives a restart');
  assert.equal(first.jwks.keys.length, 1);
  assert.equal(first.jwks.keys[0].d, undefined);

  assert.equal(statSync(join(dir, 'secret.key')).mode & 0o777, 0o600);

  // DESIGN.md: the fga role on P+2, its credential and demo store kept per data directory.
  for (const run of [first, second]) {
    assert.equal(run.line.fga, `http://127.0.0.1:${run.port + 2}`);
    assert.deepEqual(run.check, { status: 200, body: { allowed: true, resolution: '' } });
  }
  assert.match(first.line.fga_token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(second.line.fga_token, first.line.fga_token);
  assert.match(first.line.fga_store, /^[0-9A-HJKMNP-TV-Z]{26}$/);
  assert.equal(second.line.fga_store, first.line.fga_store);
  assert.equal(second.line.fga_model, first.line.fga_model);
});
