// `tessera key rotate|list` (issue 3, Administration): the steps of a signing-key rotation on a
// data directory and on a configuration file's store, and a running server following them
// (its key refresher, run every TESSERA_KEY_REFRESH_SECONDS).
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, freePort, ok, scratchDir, startTessera, tessera, waitFor } from '../lib/tessera.mjs';

before(() => assert.ok(BIN, 'TESSERA_BIN must name the tessera binary'));
const scratch = scratchDir('tessera-key-cli-');

const DAY = 24 * 3600;

let dirs = 0;
// A data directory laid out as `tessera demo` leaves it: secret.key beside tessera.db.
function dataDir() {
  const dir = join(scratch.path, `data${dirs++}`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'secret.key'), randomBytes(32).toString('base64url') + '\n',
    { mode: 0o600 });
  return dir;
}

const list = (dir) => JSON.parse(ok(['key', 'list', '--json', '--data-dir', dir]));
const rotate = (dir, ...args) =>
  JSON.parse(ok(['key', 'rotate', ...args, '--json', '--data-dir', dir]));
const byStatus = (keys, status) => keys.filter((k) => k.status === status);

describe('key rotate and list', () => {
  test('rotate introduces a next key that is published but does not sign yet', () => {
    const dir = dataDir();
    // On a store no server has used yet, the first active key is created too.
    const out = rotate(dir);
    assert.equal(out.status, 'next');
    assert.equal(out.alg, 'ES256');
    const keys = list(dir);
    assert.equal(keys.length, 2);
    const [active] = byStatus(keys, 'active');
    const [next] = byStatus(keys, 'next');
    assert.equal(next.kid, out.kid);
    assert.equal(active.kid, out.active_kid);
    assert.notEqual(next.kid, active.kid);
    assert.equal(next.published, true);
    assert.equal(next.alg, 'ES256');
    assert.equal(next.activated_at, null);
    assert.equal(next.retire_after, null);
    assert.equal(typeof next.created_at, 'number');
    assert.equal(typeof active.activated_at, 'number');

    const table = ok(['key', 'list', '--data-dir', dir]);
    assert.match(table, /^KID\s+ALG\s+STATUS\s+CREATED\s+ACTIVATED\s+RETIRE AFTER$/m);
    assert.match(table, new RegExp(`^${next.kid}\\s+ES256\\s+next\\s+\\d{4}-\\d\\d-\\d\\dT\\S+Z\\s+-\\s+-$`, 'm'));

    // A second rotation waits for the first: one next key per algorithm.
    const again = tessera(['key', 'rotate', '--data-dir', dir]);
    assert.equal(again.status, 1);
    assert.match(again.stderr, new RegExp(`^tessera key rotate: .*${next.kid} is already next`));
    assert.match(again.stderr, /--now/);
    assert.equal(list(dir).length, 2);
  });

  test('rotate --now activates at once, retires the old key for a day and warns', () => {
    const dir = dataDir();
    rotate(dir);
    const before = list(dir);
    const [oldActive] = byStatus(before, 'active');
    const [pending] = byStatus(before, 'next');
    // An already introduced next key is the one activated: JWKS caches have had it longest.
    const r = tessera(['key', 'rotate', '--now', '--json', '--data-dir', dir]);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: .*may not know it yet/);
    const out = JSON.parse(r.stdout);
    assert.equal(out.kid, pending.kid);
    assert.equal(out.status, 'active');
    assert.equal(out.retired_kid, oldActive.kid);

    const after = list(dir);
    const [active] = byStatus(after, 'active');
    const [retired] = byStatus(after, 'retired');
    assert.equal(active.kid, pending.kid);
    assert.equal(retired.kid, oldActive.kid);
    assert.equal(retired.published, true, 'tokens it signed must still verify');
    assert.equal(retired.retire_after, active.activated_at + DAY);
    assert.equal(byStatus(after, 'next').length, 0);

    // With no next key, --now introduces one and activates it.
    const fresh = rotate(dir, '--now');
    assert.ok(!after.some((k) => k.kid === fresh.kid));
    const last = list(dir);
    assert.deepEqual(byStatus(last, 'active').map((k) => k.kid), [fresh.kid]);
    assert.equal(byStatus(last, 'retired').length, 2);
  });

  test('the configuration names the store, the instance key and the algorithm', () => {
    const dir = dataDir();
    const config = scratch.write([
      'roles: [as]',
      'store:',
      '  driver: sqlite',
      `  path: ${join(dir, 'configured.db')}`,
      'as:',
      '  issuer: http://127.0.0.1:9',
      '  signing_alg: EdDSA',
      `  secret_key_file: ${join(dir, 'secret.key')}`,
      '',
    ].join('\n'));
    const out = JSON.parse(ok(['key', 'rotate', '--now', '--json', '--config', config]));
    assert.equal(out.alg, 'EdDSA');
    const keys = JSON.parse(ok(['key', 'list', '--json', '--config', config]));
    assert.deepEqual(keys.map((k) => k.alg), ['EdDSA', 'EdDSA']);
    assert.deepEqual(byStatus(keys, 'active').map((k) => k.kid), [out.kid]);
  });
});

describe('bad input', () => {
  test('no instance key or a wrong one refuses to rotate and changes nothing', () => {
    const dir = dataDir();
    rotate(dir, '--now');
    const before = list(dir);

    const wrongKey = scratch.write(randomBytes(32).toString('base64url'));
    const wrong = tessera(['key', 'rotate', '--secret-key-file', wrongKey, '--data-dir', dir]);
    assert.equal(wrong.status, 1);
    assert.match(wrong.stderr, /^tessera key rotate: .*does not decrypt/);

    const missing = tessera(['key', 'rotate', '--secret-key-file', join(dir, 'nope.key'),
      '--data-dir', dir]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /cannot read secret key file/);

    const short = tessera(['key', 'rotate', '--secret-key-file', scratch.write('c2hvcnQ'),
      '--data-dir', dir]);
    assert.equal(short.status, 2);
    assert.match(short.stderr, /expected base64url of 32 bytes/);
    assert.deepEqual(list(dir), before);
  });

  test('a missing store and unknown options are usage errors', () => {
    const dir = dataDir();
    for (const [args, reason] of [
      [['key', 'list'], /--config FILE or --data-dir DIR/],
      [['key', 'rotate'], /--config FILE or --data-dir DIR|secret key/],
      [['key', 'list', '--data-dir', join(dir, 'missing')], /no such data directory/],
      [['key', 'rotate', '--config', join(dir, 'missing.yaml')], /configuration error/],
      [['key', 'rotate', '--later', '--data-dir', dir], /--later/],
      [['key', 'list', '--secret-key-file', 'x', '--data-dir', dir], /--secret-key-file/],
    ]) {
      const r = tessera(args);
      assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, reason, args.join(' '));
    }
  });
});

describe('a running server', () => {
  test('publishes a key introduced by rotate and signs with one activated by rotate --now',
    async (t) => {
      const dir = dataDir();
      const port = await freePort();
      // The server re-reads its keys every second instead of every minute.
      process.env.TESSERA_KEY_REFRESH_SECONDS = '1';
      const server = startTessera(['demo', '--port', String(port), '--data-dir', dir]);
      delete process.env.TESSERA_KEY_REFRESH_SECONDS;
      t.after(() => server.child.kill('SIGTERM'));
      const line = JSON.parse((await waitFor(() => server.out().includes('\n') && server.out(),
        'readiness line')).trim());
      const jwksKids = async () =>
        (await (await fetch(line.issuer + '/jwks')).json()).keys.map((k) => k.kid).sort();
      const signingKid = async () => {
        const svc = line.clients.service;
        const r = await fetch(line.issuer + '/token', {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: 'Basic ' +
              Buffer.from(`${svc.client_id}:${svc.client_secret}`).toString('base64'),
          },
          body: 'grant_type=client_credentials',
        });
        assert.equal(r.status, 200);
        const { access_token: token } = await r.json();
        return JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).kid;
      };

      const [first] = await jwksKids();
      assert.equal((await jwksKids()).length, 1);
      assert.equal(await signingKid(), first);

      // Step 1 from the command line, on the server's data directory (and its secret.key).
      const next = rotate(dir);
      assert.equal(next.active_kid, first);
      await waitFor(async () => (await jwksKids()).includes(next.kid), 'the next key in the JWKS',
        10000);
      assert.deepEqual(await jwksKids(), [first, next.kid].sort());
      // Published for less than the JWKS max-age: it must not sign yet.
      assert.equal(await signingKid(), first);

      // Compromised key: --now. After one refresh the server signs with the new key and still
      // publishes the old one, so tokens it signed keep verifying.
      const now = rotate(dir, '--now');
      assert.equal(now.kid, next.kid);
      await waitFor(async () => (await signingKid()) === next.kid, 'signing with the new key',
        10000);
      assert.deepEqual(await jwksKids(), [first, next.kid].sort());
    });
});
