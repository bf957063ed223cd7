// What the node tests share: the built tessera binary (named by TESSERA_BIN),
// run to completion or started as a server, and a scratch directory per test file.
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { promisify } from 'node:util';

export const BIN = process.env.TESSERA_BIN;

// Every JWS algorithm Tessera implements.
export const ALGS = ['HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384',
  'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];

// Runs the binary to completion with `input` on stdin.
export function tessera(args, input = '') {
  const r = spawnSync(BIN, args, { input, encoding: 'utf8' });
  // EPIPE: tessera rejected its arguments before reading stdin; its answer stands.
  if (r.error && r.error.code !== 'EPIPE') throw r.error;
  // A crash (signal) is never an acceptable answer, whatever the input.
  assert.equal(r.signal, null, `tessera ${args.join(' ')} died with ${r.signal}: ${r.stderr}`);
  return r;
}

// Runs the binary, which must exit 0; returns its stdout.
export function ok(args, input = '') {
  const r = tessera(args, input);
  assert.equal(r.status, 0, `tessera ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

// ok() without blocking the event loop, for commands that call back into servers the test
// itself runs (a synchronous run would hold their requests until it exits).
export async function okAsync(args) {
  const { stdout } = await promisify(execFile)(BIN, args, { encoding: 'utf8' });
  return stdout;
}

// A directory made before the test file's tests and removed after them.
// `write(content)` puts content (JSON unless already a string) in a new file
// there and returns its path.
export function scratchDir(prefix) {
  let count = 0;
  const scratch = {
    path: undefined,
    write(content) {
      const file = join(scratch.path, `f${count++}.json`);
      writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
      return file;
    },
  };
  before(() => {
    scratch.path = mkdtempSync(join(tmpdir(), prefix));
  });
  after(() => rmSync(scratch.path, { recursive: true, force: true }));
  return scratch;
}

// A TCP port on 127.0.0.1 that nothing listens on at the time of asking.
function listenOn(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(null));
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

// A loopback port P with P+1 .. P+4 free too, at the time of asking: `tessera demo --port P`
// serves its roles and example APIs on P .. P+4 (DESIGN.md).
export async function freePort(span = 5) {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await listenOn(0);
    if (!first) continue;
    const port = first.address().port;
    const held = [first];
    for (let i = 1; i < span && held.length === i; i++) {
      const s = port + i <= 65535 ? await listenOn(port + i) : null;
      if (s) held.push(s);
    }
    const ok = held.length === span;
    await Promise.all(held.map((s) => new Promise((r) => s.close(r))));
    if (ok) return port;
  }
  throw new Error('no run of free loopback ports');
}

// Starts the binary in the background, collecting what it prints.
export function startTessera(args) {
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return { child, exited, out: () => stdout, err: () => stderr };
}

// Polls pred every 50 ms until it returns something truthy, which it resolves with.
export async function waitFor(pred, what, ms = 15000) {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    const v = await pred();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
