// `tessera fga store|model|tuple|check|list-objects` (issue 5): administration of the fga
// role's stores, models and tuples on a data directory, no server running. Output is JSON in
// OpenFGA's API shapes; an OpenFGA error is exit 1 with `code: message`, bad usage exit 2.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, ok, scratchDir, tessera } from '../lib/tessera.mjs';

before(() => assert.ok(BIN, 'TESSERA_BIN must name the tessera binary'));
const scratch = scratchDir('tessera-fga-cli-');

// One data directory for the whole file, made before the first test.
let dir;
before(() => {
  dir = join(scratch.path, 'data');
  mkdirSync(dir);
});

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/;
// A well-formed store id that no store has.
const UNKNOWN_STORE = '01ARZ3NDEKTSV4RRFFQ69G5FAV';

const fga = (...args) => JSON.parse(ok(['fga', ...args, '--data-dir', dir]));

// `tessera fga ...` must fail with `status`, printing `reason` on stderr and nothing on stdout.
function fails(args, status, reason) {
  const r = tessera(['fga', ...args, '--data-dir', dir]);
  assert.equal(r.status, status, `fga ${args.join(' ')}: ${r.stderr}`);
  assert.match(r.stderr, reason, args.join(' '));
  assert.equal(r.stdout, '', `fga ${args.join(' ')} printed on failure`);
  return r;
}

function file(name, text) {
  const path = join(scratch.path, name);
  writeFileSync(path, text);
  return path;
}

const jsonLines = (tuples) => tuples.map((t) => JSON.stringify(t)).join('\n') + '\n';

const MODEL = `model
  schema 1.1
type user
type group
  relations
    define member: [user]
type doc
  relations
    define owner: [user]
    define viewer: [user, group#member, user with in_hours] or owner
condition in_hours(hour: int) {
  hour >= 9 && hour < 17
}
`;

// A fresh store holding MODEL; returns its id and the model's.
function storeWithModel(name) {
  const store = fga('store', 'create', '--name', name).id;
  const model = fga('model', 'write', '--store', store, '--file', file(`${name}.fga`, MODEL));
  return { store, model: model.authorization_model_id };
}

const allTuples = (store, ...filter) => fga('tuple', 'read', '--store', store, ...filter).tuples;
const keys = (tuples) => tuples.map((t) => t.key);
// Tuple keys in a fixed order, to compare sets of them.
const byKey = (list) => [...list].sort((a, b) => {
  const ka = `${a.object}#${a.relation}@${a.user}`;
  const kb = `${b.object}#${b.relation}@${b.user}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
});
const allowed = (store, ...args) => fga('check', '--store', store, ...args).allowed;

describe('fga store', () => {
  test('create prints the store; list shows it; delete hides it', () => {
    const created = fga('store', 'create', '--name', 'billing');
    assert.deepEqual(Object.keys(created).sort(), ['created_at', 'id', 'name', 'updated_at']);
    assert.match(created.id, ULID);
    assert.equal(created.name, 'billing');
    assert.match(created.created_at, RFC3339);
    assert.equal(created.updated_at, created.created_at);
    const other = fga('store', 'create', '--name', 'payroll');

    const listed = fga('store', 'list');
    assert.equal(listed.continuation_token, '');
    const mine = listed.stores.filter((s) => s.id === created.id || s.id === other.id);
    assert.deepEqual(mine, [created, other], 'oldest first, as created');

    assert.deepEqual(fga('store', 'delete', '--store', created.id), {});
    const ids = fga('store', 'list').stores.map((s) => s.id);
    assert.ok(!ids.includes(created.id));
    assert.ok(ids.includes(other.id));
    fails(['store', 'delete', '--store', created.id], 1,
      /^tessera fga store delete: store_id_not_found: /);
    fails(['model', 'list', '--store', created.id], 1, /store_id_not_found/);
  });

  test('purge removes deleted stores for good, never a live one', () => {
    const gone = fga('store', 'create', '--name', 'to-purge');
    const live = fga('store', 'create', '--name', 'to-keep');
    assert.deepEqual(fga('store', 'delete', '--store', gone.id), {});
    // Deleted just now: not older than an hour.
    assert.deepEqual(fga('store', 'purge', '--older-than', '3600'), { purged: 0 });
    assert.ok(fga('store', 'purge', '--older-than', '0').purged >= 1);
    assert.deepEqual(fga('store', 'purge', '--older-than', '0'), { purged: 0 });
    assert.ok(fga('store', 'list').stores.some((s) => s.id === live.id));
    fails(['store', 'purge'], 2, /--older-than is required/);
    fails(['store', 'purge', '--older-than', '-1'], 2, /older-than/);
  });

  test('list gathers every page (more stores than one page of 100)', () => {
    const before = fga('store', 'list').stores.length;
    for (let i = 0; i < 101; i++) fga('store', 'create', '--name', `many-${i}`);
    const stores = fga('store', 'list').stores;
    assert.equal(stores.length, before + 101);
    assert.equal(new Set(stores.map((s) => s.id)).size, stores.length);
    assert.deepEqual(stores.slice(-101).map((s) => s.name),
      Array.from({ length: 101 }, (_, i) => `many-${i}`));
  });

  test('errors: a name OpenFGA refuses, an unknown or malformed id, bad usage', () => {
    fails(['store', 'create', '--name', 'ab'], 1, /^tessera fga store create: validation_error: /);
    fails(['store', 'delete', '--store', UNKNOWN_STORE], 1, /store_id_not_found/);
    fails(['store', 'delete', '--store', 'not-a-ulid'], 1, /validation_error/);
    fails(['store', 'create'], 2, /--name is required/);
    fails(['store', 'frobnicate'], 2, /A subcommand is required/);
    const r = tessera(['fga', 'store', 'list']);
    assert.equal(r.status, 2);
    assert.match(r.stderr, /--config FILE or --data-dir DIR/);
    const missing = tessera(['fga', 'store', 'list', '--data-dir', join(scratch.path, 'nope')]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /no such data directory/);
  });
});

describe('fga model', () => {
  test('write takes the DSL or JSON (guessed or named); list and show read them back', () => {
    const store = fga('store', 'create', '--name', 'models').id;
    const first = fga('model', 'write', '--store', store, '--file', file('m1.fga', MODEL));
    assert.deepEqual(Object.keys(first), ['authorization_model_id']);
    assert.match(first.authorization_model_id, ULID);

    // OpenFGA's JSON form of the same model, as `model convert` prints it.
    const json = JSON.parse(ok(['fga', 'model', 'convert', '--file', file('m.fga', MODEL)]));
    const jsonFile = file('m2.json', `\n  ${JSON.stringify(json)}`);
    const second = fga('model', 'write', '--store', store, '--file', jsonFile);
    const third = fga('model', 'write', '--store', store, '--file', jsonFile, '--format', 'json');
    assert.notEqual(second.authorization_model_id, first.authorization_model_id);
    assert.ok(third.authorization_model_id > second.authorization_model_id);

    const listed = fga('model', 'list', '--store', store);
    assert.equal(listed.continuation_token, '');
    assert.deepEqual(listed.authorization_models.map((m) => m.id),
      [third, second, first].map((m) => m.authorization_model_id), 'newest first');
    for (const m of listed.authorization_models) {
      assert.deepEqual(m.type_definitions, json.type_definitions);
      assert.deepEqual(m.conditions, json.conditions);
      assert.equal(m.schema_version, '1.1');
    }

    const latest = fga('model', 'show', '--store', store).authorization_model;
    assert.equal(latest.id, third.authorization_model_id);
    assert.deepEqual(latest.type_definitions, json.type_definitions);
    const chosen = fga('model', 'show', '--store', store, '--model', first.authorization_model_id);
    assert.equal(chosen.authorization_model.id, first.authorization_model_id);

    const dsl = ok(['fga', 'model', 'show', '--store', store, '--format', 'dsl', '--data-dir', dir]);
    assert.match(dsl, /^model\n {2}schema 1\.1\n/);
    assert.match(dsl, /define viewer: \[user, group#member, user with in_hours\] or owner/);
    const back = JSON.parse(ok(['fga', 'model', 'convert', '--file', file('back.fga', dsl)]));
    assert.deepEqual(back, json, 'the DSL printed reads back as the same model');
  });

  test('errors: malformed and invalid models, unknown store or model, unreadable file', () => {
    const store = fga('store', 'create', '--name', 'bad-models').id;
    const syntax = file('syntax.fga', 'model\n  schema 1.1\ntype doc\n  relations\n    define v: [user\n');
    fails(['model', 'write', '--store', store, '--file', syntax], 1,
      new RegExp(`^tessera fga model write: ${syntax}:6:1: `));
    const invalid = file('invalid.fga', 'model\n  schema 1.1\ntype doc\n  relations\n    define v: [usr]\n');
    fails(['model', 'write', '--store', store, '--file', invalid], 1,
      /^tessera fga model write: invalid_authorization_model: .*'usr'/);
    fails(['model', 'write', '--store', store, '--file', file('broken.json', '{"schema_version":')],
      1, /invalid JSON/);
    fails(['model', 'write', '--store', store, '--file', file('typeless.json', '{"type_definitions": 3}')],
      1, /validation_error|invalid_authorization_model/);
    fails(['model', 'write', '--store', UNKNOWN_STORE, '--file', file('ok.fga', MODEL)], 1,
      /store_id_not_found/);
    fails(['model', 'write', '--store', store, '--file', join(scratch.path, 'absent.fga')], 2,
      /cannot read/);
    fails(['model', 'write', '--store', store], 2, /--file is required/);
    fails(['model', 'write', '--store', store, '--file', syntax, '--format', 'yaml'], 2, /yaml/);
    assert.deepEqual(fga('model', 'list', '--store', store).authorization_models, [],
      'nothing was written');
    fails(['model', 'show', '--store', store], 1, /latest_authorization_model_not_found/);
    fails(['model', 'show', '--store', store, '--model', UNKNOWN_STORE], 1,
      /authorization_model_not_found/);
    fails(['model', 'show', '--store', UNKNOWN_STORE], 1, /store_id_not_found/);
  });
});

describe('fga tuple', () => {
  test('write one tuple, with a condition and context; read it back; delete it', () => {
    const { store } = storeWithModel('tuples');
    const plain = fga('tuple', 'write', '--store', store, '--tuple', 'doc:a viewer user:anne');
    assert.equal(plain.written, 1);
    assert.match(plain.consistency_token, /^[A-Za-z0-9_-]+$/);
    const conditional = fga('tuple', 'write', '--store', store, '--tuple',
      '  doc:c   viewer user:carl ', '--condition', 'in_hours', '--context', '{"hour": 10}');
    assert.equal(conditional.written, 1);
    assert.notEqual(conditional.consistency_token, plain.consistency_token);

    const read = fga('tuple', 'read', '--store', store);
    assert.equal(read.continuation_token, '');
    assert.deepEqual(keys(read.tuples), [
      { object: 'doc:a', relation: 'viewer', user: 'user:anne' },
      { object: 'doc:c', relation: 'viewer', user: 'user:carl',
        condition: { name: 'in_hours', context: { hour: 10 } } },
    ]);
    for (const t of read.tuples) assert.match(t.timestamp, RFC3339);
    assert.deepEqual(keys(allTuples(store, '--object', 'doc:c')),
      [keys(read.tuples)[1]]);
    assert.deepEqual(allTuples(store, '--object', 'doc:', '--user', 'user:anne'),
      [read.tuples[0]]);
    assert.deepEqual(allTuples(store, '--object', 'doc:a', '--relation', 'owner'), []);

    const deleted = fga('tuple', 'delete', '--store', store, '--tuple', 'doc:a viewer user:anne');
    assert.equal(deleted.deleted, 1);
    assert.match(deleted.consistency_token, /^[A-Za-z0-9_-]+$/);
    assert.deepEqual(keys(allTuples(store)), [keys(read.tuples)[1]]);
  });

  test('errors: invalid tuples, duplicates, missing deletes, unknown store, bad usage', () => {
    const { store, model } = storeWithModel('tuple-errors');
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:a editor user:anne'], 1,
      /^tessera fga tuple write: invalid_tuple: .*editor/);
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:a owner group:eng#member'], 1,
      /^tessera fga tuple write: invalid_tuple: /);
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:a viewer user:anne',
      '--condition', 'nope'], 1, /invalid_tuple/);
    fails(['tuple', 'write', '--store', UNKNOWN_STORE, '--tuple', 'doc:a viewer user:anne'], 1,
      /store_id_not_found/);
    fails(['tuple', 'write', '--store', store, '--model', UNKNOWN_STORE, '--tuple',
      'doc:a viewer user:anne'], 1, /authorization_model_not_found/);

    fga('tuple', 'write', '--store', store, '--model', model, '--tuple', 'doc:a viewer user:anne');
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:a viewer user:anne'], 1,
      /write_failed_due_to_invalid_input: cannot write a tuple which already exists/);
    assert.equal(fga('tuple', 'write', '--store', store, '--tuple', 'doc:a viewer user:anne',
      '--on-duplicate', 'ignore').written, 1);
    fails(['tuple', 'delete', '--store', store, '--tuple', 'doc:b viewer user:anne'], 1,
      /^tessera fga tuple delete: write_failed_due_to_invalid_input: /);
    fga('tuple', 'delete', '--store', store, '--tuple', 'doc:b viewer user:anne',
      '--on-missing', 'ignore');
    fails(['tuple', 'delete', '--store', UNKNOWN_STORE, '--tuple', 'doc:a viewer user:anne'], 1,
      /store_id_not_found/);
    fails(['tuple', 'read', '--store', UNKNOWN_STORE], 1, /store_id_not_found/);
    fails(['tuple', 'read', '--store', store, '--object', 'doc:'], 1, /validation_error/);

    // Bad usage: exit 2, nothing written.
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:a viewer'], 2,
      /expected "object relation user"/);
    fails(['tuple', 'write', '--store', store], 2, /--tuple .* or --file/);
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:b viewer user:bob', '--file',
      file('both.jsonl', '')], 2, /excludes/);
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:b viewer user:bob', '--context',
      '{}'], 2, /--context requires --condition/);
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:b viewer user:bob', '--condition',
      'in_hours', '--context', '[1]'], 2, /--context: expected a JSON object/);
    fails(['tuple', 'write', '--store', store, '--tuple', 'doc:b viewer user:bob',
      '--on-duplicate', 'sometimes'], 2, /sometimes/);
    fails(['tuple', 'write', '--tuple', 'doc:b viewer user:bob'], 2, /--store is required/);
    fails(['tuple', 'delete', '--store', store], 2, /--tuple is required/);
    assert.deepEqual(keys(allTuples(store)),
      [{ object: 'doc:a', relation: 'viewer', user: 'user:anne' }]);
  });

  test('--file writes JSON lines in batches and they read back', () => {
    const { store } = storeWithModel('bulk');
    const tuples = [];
    for (let i = 0; i < 250; i++) tuples.push({ object: `doc:d${i}`, relation: 'viewer', user: 'user:anne' });
    tuples.push({ object: 'group:eng', relation: 'member', user: 'user:bob' });
    tuples.push({ object: 'doc:d0', relation: 'viewer', user: 'group:eng#member' });
    tuples.push({ object: 'doc:late', relation: 'viewer', user: 'user:carl',
      condition: { name: 'in_hours', context: { hour: 20 } } });
    tuples.push({ object: 'doc:any', relation: 'viewer', user: 'user:carl',
      condition: { name: 'in_hours' } });
    // Blank lines and CRLF endings are fine.
    const text = jsonLines(tuples.slice(0, 100)) + '\n  \n' +
      tuples.slice(100).map((t) => JSON.stringify(t)).join('\r\n');
    const out = fga('tuple', 'write', '--store', store, '--file', file('bulk.jsonl', text));
    assert.equal(out.written, tuples.length);
    assert.match(out.consistency_token, /^[A-Za-z0-9_-]+$/);
    const read = allTuples(store);
    assert.equal(read.length, tuples.length, 'every page of the read is gathered');
    assert.deepEqual(byKey(keys(read)), byKey(tuples));

    // Written again: every tuple exists. With --on-duplicate ignore it is a no-op.
    const again = fga('tuple', 'write', '--store', store, '--file', file('bulk2.jsonl', text),
      '--on-duplicate', 'ignore');
    assert.equal(again.written, tuples.length);
    assert.equal(allTuples(store).length, tuples.length);
  });

  test('--file: a bad line anywhere writes nothing', () => {
    const { store } = storeWithModel('bulk-errors');
    const good = Array.from({ length: 150 }, (_, i) =>
      ({ object: `doc:x${i}`, relation: 'viewer', user: 'user:anne' }));
    const withLine = (line) => jsonLines(good.slice(0, 140)) + line + '\n' + jsonLines(good.slice(140));
    const cases = [
      [JSON.stringify({ object: 'doc:y', relation: 'editor', user: 'user:anne' }), 1,
        /^tessera fga tuple write: invalid_tuple: .*\(.*:141; nothing was written\)/],
      [JSON.stringify({ object: 'doc:y', relation: 'owner', user: 'group:eng#member' }), 1,
        /invalid_tuple: .*:141;/],
      ['{"object": "doc:y", "relation": "viewer"', 2, /:141: invalid JSON/],
      [JSON.stringify({ object: 'doc:y', relation: 'viewer' }), 2, /:141: .*are required/],
      [JSON.stringify({ object: 'doc:y', relation: 'viewer', user: 'user:a', extra: 1 }), 2,
        /:141: unknown member "extra"/],
      [JSON.stringify({ object: 'doc:y', relation: 'viewer', user: 7 }), 2, /"user" must be a string/],
      [JSON.stringify({ object: 'doc:y', relation: 'viewer', user: 'user:a', condition: {} }), 2,
        /"condition" needs a "name"/],
      ['[1, 2]', 2, /expected a JSON object/],
      ['x'.repeat(40000), 2, /:141: line longer than/],
    ];
    cases.forEach(([line, status, reason], n) => {
      fails(['tuple', 'write', '--store', store, '--file', file(`bad${n}.jsonl`, withLine(line))],
        status, reason);
    });
    fails(['tuple', 'write', '--store', store, '--file', join(scratch.path, 'absent.jsonl')], 2,
      /cannot read/);
    assert.deepEqual(allTuples(store), [], 'no batch of any bad file was written');
  });

  test('--file: each batch of 100 is its own transaction', () => {
    const { store } = storeWithModel('bulk-batches');
    fga('tuple', 'write', '--store', store, '--tuple', 'doc:x150 viewer user:anne');
    const tuples = Array.from({ length: 300 }, (_, i) =>
      ({ object: `doc:x${i}`, relation: 'viewer', user: 'user:anne' }));
    // Line 151 (in the second batch, lines 101-200) is already stored.
    fails(['tuple', 'write', '--store', store, '--file', file('dup.jsonl', jsonLines(tuples))], 1,
      /write_failed_due_to_invalid_input: .*doc:x150.*lines 101-200; the 100 tuples before it were written/);
    const stored = keys(allTuples(store)).map((t) => t.object).sort();
    const expected = ['doc:x150', ...tuples.slice(0, 100).map((t) => t.object)].sort();
    assert.deepEqual(stored, expected, 'the first batch stays, the failing one and later do not');
  });
});

describe('fga check and list-objects', () => {
  let store;
  let model;
  before(() => {
    ({ store, model } = storeWithModel('queries'));
    const tuples = Array.from({ length: 1500 }, (_, i) =>
      ({ object: `doc:${String(i).padStart(4, '0')}`, relation: 'viewer', user: 'user:anne' }));
    tuples.push({ object: 'group:eng', relation: 'member', user: 'user:bob' });
    tuples.push({ object: 'doc:team', relation: 'viewer', user: 'group:eng#member' });
    tuples.push({ object: 'doc:timed', relation: 'viewer', user: 'user:carl',
      condition: { name: 'in_hours' } });
    const out = fga('tuple', 'write', '--store', store, '--file', file('q.jsonl', jsonLines(tuples)));
    assert.equal(out.written, 1503);
  });

  test('check: allowed and not allowed, both exit 0', () => {
    assert.equal(allowed(store, '--user', 'user:anne', '--relation', 'viewer', '--object',
      'doc:0042'), true);
    assert.equal(allowed(store, '--user', 'user:bob', '--relation', 'viewer', '--object',
      'doc:0042'), false);
    assert.equal(allowed(store, '--user', 'user:bob', '--relation', 'viewer', '--object',
      'doc:team'), true, 'through group:eng#member');
    assert.equal(allowed(store, '--user', 'user:anne', '--relation', 'viewer', '--object',
      'doc:team', '--model', model), false);
    assert.deepEqual(fga('check', '--store', store, '--user', 'user:anne', '--relation', 'owner',
      '--object', 'doc:0001'), { allowed: false });
  });

  test('check: contextual tuples and condition context', () => {
    assert.equal(allowed(store, '--user', 'user:dan', '--relation', 'viewer', '--object',
      'doc:team', '--contextual-tuple', 'group:eng member user:dan'), true);
    assert.equal(allowed(store, '--user', 'user:dan', '--relation', 'viewer', '--object',
      'doc:new', '--contextual-tuple', 'doc:new owner user:dan', '--contextual-tuple',
      'doc:new viewer user:erin'), true);
    assert.equal(allowed(store, '--user', 'user:dan', '--relation', 'viewer', '--object',
      'doc:team'), false, 'contextual tuples are not stored');
    assert.equal(allowed(store, '--user', 'user:carl', '--relation', 'viewer', '--object',
      'doc:timed', '--context', '{"hour": 10}'), true);
    assert.equal(allowed(store, '--user', 'user:carl', '--relation', 'viewer', '--object',
      'doc:timed', '--context', '{"hour": 20}'), false);
    fails(['check', '--store', store, '--user', 'user:carl', '--relation', 'viewer', '--object',
      'doc:timed'], 1, /^tessera fga check: validation_error: .*missing parameters 'hour'/);
  });

  test('check: errors', () => {
    const q = ['--user', 'user:anne', '--relation', 'viewer', '--object', 'doc:0001'];
    fails(['check', '--store', UNKNOWN_STORE, ...q], 1, /store_id_not_found/);
    fails(['check', '--store', store, '--model', UNKNOWN_STORE, ...q], 1,
      /authorization_model_not_found/);
    fails(['check', '--store', store, '--user', 'user:anne', '--relation', 'nope', '--object',
      'doc:0001'], 1, /validation_error/);
    fails(['check', '--store', store, ...q, '--context', 'hour=10'], 2, /--context: invalid JSON/);
    fails(['check', '--store', store, ...q, '--contextual-tuple', 'doc:1 viewer'], 2,
      /--contextual-tuple "doc:1 viewer": expected "object relation user"/);
    fails(['check', '--store', store, ...q, '--contextual-tuple', 'doc:1 editor user:x'], 1,
      /invalid_contextual_tuple|invalid_tuple|validation_error/);
    fails(['check', '--store', store, '--user', 'user:anne', '--relation', 'viewer'], 2,
      /--object is required/);
  });

  test('list-objects gathers every engine page (1500 objects, pages of 1000)', () => {
    const out = fga('list-objects', '--store', store, '--user', 'user:anne', '--relation',
      'viewer', '--type', 'doc');
    assert.deepEqual(Object.keys(out), ['objects']);
    const expected = Array.from({ length: 1500 }, (_, i) => `doc:${String(i).padStart(4, '0')}`);
    assert.deepEqual([...out.objects].sort(), expected);
    assert.equal(new Set(out.objects).size, 1500);
    assert.deepEqual(fga('list-objects', '--store', store, '--user', 'user:bob', '--relation',
      'viewer', '--type', 'doc', '--model', model).objects, ['doc:team']);
    assert.deepEqual(fga('list-objects', '--store', store, '--user', 'user:carl', '--relation',
      'viewer', '--type', 'doc', '--context', '{"hour": 9}').objects, ['doc:timed']);
    assert.deepEqual(fga('list-objects', '--store', store, '--user', 'user:carl', '--relation',
      'viewer', '--type', 'doc', '--context', '{"hour": 17}').objects, []);
    assert.deepEqual(fga('list-objects', '--store', store, '--user', 'user:zoe', '--relation',
      'viewer', '--type', 'doc').objects, []);
  });

  test('list-objects: errors', () => {
    const q = ['--user', 'user:anne', '--relation', 'viewer', '--type', 'doc'];
    fails(['list-objects', '--store', UNKNOWN_STORE, ...q], 1, /store_id_not_found/);
    fails(['list-objects', '--store', store, '--user', 'user:anne', '--relation', 'viewer',
      '--type', 'folder'], 1, /type_not_found|validation_error/);
    fails(['list-objects', '--store', store, ...q, '--context', '"x"'], 2,
      /--context: expected a JSON object/);
    fails(['list-objects', '--store', store, '--user', 'user:anne', '--relation', 'viewer'], 2,
      /--type is required/);
  });
});
