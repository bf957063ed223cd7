// Interop with @openfga/syntax-transformer (OpenFGA's own DSL <-> JSON converter) for every
// model of OpenFGA's conformance suite: `tessera fga model convert` turns the DSL into the same
// JSON as transformDSLToJSONObject; Tessera's JSON written back as DSL by Tessera, and
// syntax-transformer's DSL for Tessera's JSON, both give that JSON again; syntax errors are
// reported as `line:column: message` with exit 1. Drives the built binary named by TESSERA_BIN.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import YAML from 'yaml';
import syntaxTransformer from '@openfga/syntax-transformer';
import { BIN, ok, scratchDir, tessera } from '../lib/tessera.mjs';

const { transformer } = syntaxTransformer;

before(() => assert.ok(BIN, 'TESSERA_BIN must name the tessera binary'));
const scratch = scratchDir('tessera-fga-model-');

const suitePath = new URL(
  '../../../shared/testdata/openfga/consolidated_1_1_tests.yaml', import.meta.url);

// Every distinct model of the suite, with the name of the first test using it.
function conformanceModels() {
  const suite = YAML.parse(readFileSync(suitePath, 'utf8'));
  const models = new Map();
  for (const t of suite.tests) {
    for (const stage of t.stages ?? []) {
      if (typeof stage.model === 'string' && !models.has(stage.model)) {
        models.set(stage.model, t.name);
      }
    }
  }
  return [...models].map(([dsl, name]) => ({ name, dsl }));
}

// Field order is not part of JSON's meaning: compare with object members sorted.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value).sort().map((k) => [k, canonical(value[k])]));
  }
  return value;
}

function convert(args, input) {
  return ok(['fga', 'model', 'convert', ...args], input);
}

const models = conformanceModels();

test('the conformance suite has its models', () => {
  // 137 tests, some sharing a model: far fewer means the file was not read.
  assert.ok(models.length >= 100, `only ${models.length} models`);
});

test('DSL to JSON: Tessera and syntax-transformer agree on every model', () => {
  for (const { name, dsl } of models) {
    const expected = transformer.transformDSLToJSONObject(dsl);
    const ours = JSON.parse(convert(['--from', 'dsl', '--to', 'json'], dsl));
    assert.deepStrictEqual(canonical(ours), canonical(expected), name);
  }
});

test('JSON to DSL and back: Tessera DSL read by syntax-transformer gives the same JSON', () => {
  for (const { name, dsl } of models) {
    const json = convert(['--to', 'json'], dsl);
    const ourDsl = convert(['--from', 'json', '--to', 'dsl'], json);
    const again = transformer.transformDSLToJSONObject(ourDsl);
    assert.deepStrictEqual(canonical(again), canonical(JSON.parse(json)), `${name}\n${ourDsl}`);
  }
});

test('syntax-transformer JSON and DSL load in Tessera unchanged', () => {
  for (const { name, dsl } of models) {
    const expected = transformer.transformDSLToJSONObject(dsl);
    // Its JSON, read by Tessera.
    const fromJson = JSON.parse(convert(['--from', 'json', '--to', 'json'], JSON.stringify(expected)));
    assert.deepStrictEqual(canonical(fromJson), canonical(expected), name);
    // Its DSL for that JSON, read by Tessera.
    const theirDsl = transformer.transformJSONToDSL(expected);
    const fromDsl = JSON.parse(convert(['--from', 'dsl', '--to', 'json'], theirDsl));
    assert.deepStrictEqual(canonical(fromDsl), canonical(expected), `${name}\n${theirDsl}`);
  }
});

test('models both refuse: syntax errors name line and column, exit 1', () => {
  const bad = [
    'model\n  schema 1.1\ntype user\n  relations\n    define a: [user] or b and c\n',
    'model\n  schema 1.1\ntype user\n  relations\n    define a: b or [user]\n',
    'model\n  schema 1.1\ntype user\n  relations\n    define in: [user]\n',
    'model\n  schema 1.1\ntype user\ncondition c(x: int) {\n  x = 1\n}\n',
    'model\n  schema 1.1\ntype\n',
  ];
  for (const dsl of bad) {
    assert.throws(() => transformer.transformDSLToJSONObject(dsl), undefined, dsl);
    const r = tessera(['fga', 'model', 'convert'], dsl);
    assert.equal(r.status, 1, dsl);
    assert.match(r.stderr, /^\d+:\d+: \S/, dsl);
    assert.equal(r.stdout, '', dsl);
  }
});

test('invalid models: OpenFGA error code on stderr, exit 1', () => {
  const r = tessera(['fga', 'model', 'convert'],
    'model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: editor\n');
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^invalid_authorization_model: 'doc#editor' relation is undefined/);
  const j = tessera(['fga', 'model', 'convert', '--from', 'json'], '{"type_definitions": 3}');
  assert.equal(j.status, 1);
  assert.match(j.stderr, /^validation_error: /);
  const notJson = tessera(['fga', 'model', 'convert', '--from', 'json'], '{');
  assert.equal(notJson.status, 1);
  assert.match(notJson.stderr, /invalid JSON/);
  // --skip-validation converts what parses.
  const skipped = JSON.parse(ok(['fga', 'model', 'convert', '--skip-validation'],
    'model\n  schema 1.1\ntype doc\n  relations\n    define viewer: editor\n'));
  assert.deepStrictEqual(skipped.type_definitions[0].relations.viewer,
    { computedUserset: { relation: 'editor' } });
});

test('--file reads the model from a file; an unreadable file exits 2', () => {
  const dsl = 'model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [user]\n';
  const file = scratch.write(dsl);
  assert.deepStrictEqual(JSON.parse(ok(['fga', 'model', 'convert', '--file', file])),
    transformer.transformDSLToJSONObject(dsl));
  const r = tessera(['fga', 'model', 'convert', '--file', `${file}.missing`]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /cannot read/);
});
