// Contracts of `tessera serve` and `tessera demo` (DESIGN.md), exercised on the
// real binary: readiness line, health endpoints, JSON errors, config errors,
// graceful drain on SIGTERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync, statSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BIN, freePort, startTessera, waitFor } from '../lib/tessera.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

async function ready(url) {
  try {
    return (await fetch(url + '/readyz')).status === 200;
  } catch {
    return false;
  }
}

test('demo prints exactly one JSON readiness line on stdout and keeps logs on stderr', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-demo-'));
  const port = await freePort();
  const p = startTessera(['demo', '--port', String(port), '--data-dir', dir]);
  t.after(() => { p.child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  const line = await waitFor(() => p.out().includes('\n') && p.out(), 'readiness line');
  const lines = line.trim().split('\n');
  assert.equal(lines.length, 1, `stdout: ${line}`);
  const ready = JSON.parse(lines[0]);
  assert.equal(typeof ready, 'object');
  assert.equal(ready.http, `http://127.0.0.1:${port}`);
  const h = await fetch(ready.http + '/healthz');
  assert.equal(h.status, 200);
  assert.equal((await fetch(ready.http + '/readyz')).status, 200);
  // The store lives in the data directory, readable by its owner only.
  assert.equal(statSync(join(dir, 'tessera.db')).mode & 0o777, 0o600);
  // Nothing more is printed on stdout once ready.
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(p.out().trim().split('\n').length, 1);
});

test('demo keeps its credentials per data directory', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-demo-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const lines = [];
  for (let i = 0; i < 2; i++) {
    const port = await freePort();
    const p = startTessera(['demo', '--port', String(port), '--data-dir', dir]);
    const out = await waitFor(() => p.out().includes('\n') && p.out(), 'readiness line');
    lines.push(JSON.parse(out.trim()));
    p.child.kill('SIGTERM');
    assert.equal((await p.exited).code, 0);
  }
  assert.ok(lines[0].instance_id, 'an instance id is generated');
  assert.equal(lines[0].instance_id, lines[1].instance_id);
});

test('serve answers health, metrics and JSON errors, and drains on SIGTERM', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-serve-'));
  const port = await freePort();
  const cfg = join(dir, 'tessera.yaml');
  writeFileSync(cfg, `http:\n  listen: 127.0.0.1:${port}\nstore:\n  driver: sqlite\n  path: ${dir}/t.db\n`);
  const p = startTessera(['serve', '--config', cfg]);
  t.after(() => { p.child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  const base = `http://127.0.0.1:${port}`;
  await waitFor(() => ready(base), '/readyz');

  const nf = await fetch(base + '/no/such/route?secret=hunter2');
  assert.equal(nf.status, 404);
  assert.match(nf.headers.get('content-type'), /application\/json/);
  const body = await nf.json();
  assert.equal(typeof body.error, 'string');

  const m = await (await fetch(base + '/metrics')).text();
  assert.match(m, /# TYPE \S+ counter/);
  assert.match(m, /# TYPE \S+ histogram/);

  p.child.kill('SIGTERM');
  const { code } = await p.exited;
  assert.equal(code, 0, p.err());
  // Access log: one JSON line per request, never the query string.
  const logLines = p.err().split('\n').filter((l) => l.startsWith('{'));
  assert.ok(logLines.length >= 3, p.err());
  for (const l of logLines) JSON.parse(l);
  assert.ok(!p.err().includes('hunter2'), 'query string leaked into the log');
});

test('a configuration error names the file, the line and the key, and nothing starts', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-cfg-'));
  const cfg = join(dir, 'bad.yaml');
  const port = await freePort();
  writeFileSync(cfg, `http:\n  listen: 127.0.0.1:${port}\n  max_body_bytez: 10\n`);
  const r = spawnSync(BIN, ['serve', '--config', cfg], { encoding: 'utf8', timeout: 10000 });
  rmSync(dir, { recursive: true, force: true });
  assert.notEqual(r.status, 0);
  assert.match(r.stderr, new RegExp(`${cfg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: key 'http\\.max_body_bytez': unknown key`));
  assert.equal(await ready(`http://127.0.0.1:${port}`), false);
});

test('version and help', () => {
  const v = spawnSync(BIN, ['version'], { encoding: 'utf8' });
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^tessera \d+\.\d+\.\d+/);
  const h = spawnSync(BIN, ['--help'], { encoding: 'utf8' });
  assert.equal(h.status, 0);
  for (const sub of ['serve', 'demo', 'jose', 'version']) assert.match(h.stdout, new RegExp(sub));
});

test('serve runs the fga role alone, with a preshared key given by its SHA-256', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-serve-fga-'));
  const [port, fgaPort] = [await freePort(), await freePort()];
  const key = 'a-preshared-key-for-this-test';
  const digest = createHash('sha256').update(key).digest('hex');
  const cfg = join(dir, 'tessera.yaml');
  writeFileSync(cfg, `roles: [fga]\nhttp:\n  listen: 127.0.0.1:${port}\n` +
    `store:\n  driver: sqlite\n  path: ${dir}/t.db\n` +
    `fga:\n  port: ${fgaPort}\n  preshared_keys_sha256: [${digest}]\n`);
  const p = startTessera(['serve', '--config', cfg]);
  t.after(() => { p.child.kill('SIGKILL'); rmSync(dir, { recursive: true, force: true }); });
  const base = `http://127.0.0.1:${fgaPort}`;
  await waitFor(() => ready(base), '/readyz of the fga listener');
  const call = (path, body, credential = key) => fetch(base + path, {
    method: body === undefined ? 'GET' : 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${credential}` },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const anonymous = await fetch(base + '/stores');
  assert.equal(anonymous.status, 401);
  assert.equal((await anonymous.json()).code, 'bearer_token_missing');
  assert.equal((await call('/stores', undefined, digest)).status, 401, 'the digest is not the key');
  const created = await call('/stores', { name: 'serve-test' });
  assert.equal(created.status, 201);
  assert.equal((await created.json()).name, 'serve-test');
  // OpenFGA's answer for an unknown path on its own listener.
  const unknown = await call('/no/such/endpoint');
  assert.equal(unknown.status, 404);
  assert.equal((await unknown.json()).code, 'undefined_endpoint');
  // The main listener has no fga routes when fga has its own port.
  assert.equal((await fetch(`http://127.0.0.1:${port}/stores`)).status, 404);
  p.child.kill('SIGTERM');
  assert.equal((await p.exited).code, 0, p.err());
  assert.ok(!p.err().includes(key), 'the key leaked into the log');
});

test('serve refuses an fga role with no credential it could accept', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-serve-fga-'));
  const cfg = join(dir, 'tessera.yaml');
  writeFileSync(cfg, `roles: [fga]\nhttp:\n  listen: 127.0.0.1:${await freePort()}\n` +
    `store:\n  driver: sqlite\n  path: ${dir}/t.db\n`);
  const r = spawnSync(BIN, ['serve', '--config', cfg], { encoding: 'utf8', timeout: 10000 });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(r.status, 1);
  assert.match(r.stderr, /preshared_keys_sha256/);
});
