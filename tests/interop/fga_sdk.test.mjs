// Interop with @openfga/sdk (OpenFGA's own JavaScript client, unmodified) against the fga role of
// `tessera demo`: the demo store's invoices model (check, batch check, list objects streamed or
// not, list users, expand, read, changes, models), a fresh store driven end to end (a model with
// a condition, conditional and contextual tuples, on_duplicate / on_missing, deletes, assertions,
// store life cycle), the errors the SDK types (validation, not found, authentication), and what
// Tessera adds on the wire that the SDK does not see: ListObjects pages with continuation tokens
// and writes answer a consistency token. Drives the built binary named by TESSERA_BIN.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ClientWriteRequestOnDuplicateWrites, ClientWriteRequestOnMissingDeletes, ClientWriteStatus,
  CredentialsMethod, FgaApiAuthenticationError, FgaApiNotFoundError, FgaApiValidationError,
  OpenFgaClient,
} from '@openfga/sdk';
import syntaxTransformer from '@openfga/syntax-transformer';
import { BIN } from '../lib/tessera.mjs';
import { startDemo } from '../lib/demo.mjs';

const { transformer } = syntaxTransformer;

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

// The model `tessera demo` loads in its demo store.
const INVOICES_DSL = `model
  schema 1.1
type user
type tenant
  relations
    define member: [user]
    define accountant: [user]
type invoice
  relations
    define tenant: [tenant]
    define owner: [user]
    define viewer: owner or accountant from tenant
    define editor: owner
`;
const DEMO_TUPLES = [
  'tenant:acme#member@user:alice', 'tenant:acme#member@user:bob',
  'tenant:acme#accountant@user:bob', 'invoice:inv-1#tenant@tenant:acme',
  'invoice:inv-1#owner@user:alice', 'invoice:inv-2#tenant@tenant:acme',
  'invoice:inv-2#owner@user:bob',
];

// The fresh store's model: a conditional assignment, a userset, an exclusion.
const DOCS_DSL = `model
  schema 1.1
type user
type group
  relations
    define member: [user]
type document
  relations
    define viewer: [user, user with non_expired, group#member]
    define blocked: [user]
    define reader: viewer but not blocked
condition non_expired(current_time: timestamp, expires_at: timestamp) {
  current_time < expires_at
}
`;

// The same types without the condition and the exclusion: `reader` is any viewer.
const DOCS_V2_DSL = `model
  schema 1.1
type user
type group
  relations
    define member: [user]
type document
  relations
    define viewer: [user, group#member]
    define blocked: [user]
    define reader: viewer
`;

const ULID = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/;
// Well formed, and no store or model of the demo has it.
const UNKNOWN_ULID = '01ARZ3NDEKTSV4RRFFQ69G5FAV';
const BEFORE_EXPIRY = { current_time: '2029-06-01T00:00:00Z' };
const AFTER_EXPIRY = { current_time: '2031-06-01T00:00:00Z' };
const EXPIRES = { name: 'non_expired', context: { expires_at: '2030-01-01T00:00:00Z' } };

let ready;
startDemo('tessera-fga-sdk-', async (demo) => {
  ({ ready } = demo);
});

// An SDK client as a user configures one: the API URL, a store, optionally a model, and the
// preshared key as an API token. No retries: a 5xx or 429 is never an acceptable answer here, and
// a retry would hide one.
function fga({ storeId = ready.fga_store, modelId, token = ready.fga_token } = {}) {
  return new OpenFgaClient({
    apiUrl: ready.fga,
    storeId,
    authorizationModelId: modelId,
    credentials: token === null ? undefined
      : { method: CredentialsMethod.ApiToken, config: { token } },
    retryParams: { maxRetry: 0 },
  });
}

// The same API without the SDK: what Tessera adds is visible only here.
async function raw(method, path, body, { token = ready.fga_token } = {}) {
  const headers = {};
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const r = await fetch(`${ready.fga}${path}`, {
    method, headers, body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  assert.ok(r.status < 500, `${method} ${path}: ${r.status} ${text}`);
  return { status: r.status, headers: r.headers, text, body: text ? JSON.parse(text) : undefined };
}

// `promise` rejects with an SDK error of class `Type` carrying OpenFGA's HTTP status and error
// code (and a message matching `message`). The whole error body goes in failure messages.
async function rejects(promise, Type, { status, code, message }) {
  let caught;
  try {
    await promise;
  } catch (e) {
    caught = e;
  }
  assert.ok(caught, `expected ${Type.name}, the call succeeded`);
  const seen = `${caught.name} ${caught.statusCode} ${JSON.stringify(caught.responseData)}`;
  assert.ok(caught instanceof Type, `expected ${Type.name}, got ${seen}: ${caught.message}`);
  assert.equal(caught.statusCode, status, seen);
  assert.equal(caught.apiErrorCode, code, seen);
  assert.deepEqual(Object.keys(caught.responseData ?? {}).sort(), ['code', 'message'], seen);
  if (message) assert.match(caught.apiErrorMessage, message, seen);
  return caught;
}

const key = (t) => `${t.object}#${t.relation}@${t.user}`;
// The tuple key written `object#relation@user` (the user may be a userset `type:id#relation`).
function tk(s) {
  const m = /^([^#]+)#([^@]+)@(.+)$/.exec(s);
  return { user: m[3], relation: m[2], object: m[1] };
}
const allowed = async (client, tuple, extra = {}) =>
  (await client.check({ ...tk(tuple), ...extra })).allowed;
const sorted = (list) => [...list].sort();
const userString = (u) => (u.object ? `${u.object.type}:${u.object.id}`
  : u.userset ? `${u.userset.type}:${u.userset.id}#${u.userset.relation}`
    : `${u.wildcard.type}:*`);

// Field order and OpenFGA's unpopulated fields (empty strings, nulls, an empty `conditions`) are
// not part of a model's meaning: compare without them, members sorted.
function canonical(value) {
  if (Array.isArray(value)) return value.map(canonical);
  if (value !== null && typeof value === 'object') {
    const out = {};
    for (const k of Object.keys(value).sort()) {
      const v = value[k];
      if (v === undefined || v === null || v === '') continue;
      if (k === 'conditions' && Object.keys(v).length === 0) continue;
      out[k] = canonical(v);
    }
    return out;
  }
  return value;
}
const modelBody = (m) => canonical({
  schema_version: m.schema_version, type_definitions: m.type_definitions, conditions: m.conditions,
});

async function streamed(client, request) {
  const objects = [];
  for await (const item of client.streamedListObjects(request)) objects.push(item.object);
  return objects;
}

// --- The demo store ------------------------------------------------------------------------------

test('the readiness line names the fga API, its key, the demo store and its model', () => {
  assert.match(ready.fga, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(typeof ready.fga_token, 'string');
  assert.ok(ready.fga_token.length >= 16, 'a guessable API key');
  assert.match(ready.fga_store, ULID);
  assert.match(ready.fga_model, ULID);
});

test('check: the invoices model answers as OpenFGA does, with and without a model id', async () => {
  const cases = [
    ['user:alice', 'viewer', 'invoice:inv-1', true],   // owner
    ['user:bob', 'viewer', 'invoice:inv-1', true],     // accountant of the invoice's tenant
    ['user:alice', 'viewer', 'invoice:inv-2', false],  // a member, not an accountant
    ['user:bob', 'viewer', 'invoice:inv-2', true],
    ['user:alice', 'editor', 'invoice:inv-1', true],
    ['user:bob', 'editor', 'invoice:inv-1', false],
    ['user:alice', 'member', 'tenant:acme', true],
    ['user:alice', 'accountant', 'tenant:acme', false],
    ['user:mallory', 'viewer', 'invoice:inv-1', false],
    ['tenant:acme', 'tenant', 'invoice:inv-2', true],
  ];
  for (const client of [fga(), fga({ modelId: ready.fga_model })]) {
    for (const [user, relation, object, expected] of cases) {
      const r = await client.check({ user, relation, object });
      assert.equal(r.allowed, expected, `${object}#${relation}@${user}`);
    }
  }
});

test('batchCheck: one batch-check call, answers by correlation id, an error per item', async () => {
  const { result } = await fga().batchCheck({
    checks: [
      { user: 'user:alice', relation: 'viewer', object: 'invoice:inv-1', correlationId: 'a1' },
      { user: 'user:alice', relation: 'viewer', object: 'invoice:inv-2', correlationId: 'a2' },
      { user: 'user:bob', relation: 'viewer', object: 'invoice:inv-2', correlationId: 'b2' },
      { user: 'user:bob', relation: 'editor', object: 'invoice:inv-1', correlationId: 'b1' },
      // A contextual tuple applies to its own check only (here the SDK takes OpenFGA's
      // ContextualTupleKeys as they are).
      {
        user: 'user:carol', relation: 'viewer', object: 'invoice:inv-2', correlationId: 'c2',
        contextualTuples: { tuple_keys: [tk('invoice:inv-2#owner@user:carol')] },
      },
      { user: 'user:carol', relation: 'viewer', object: 'invoice:inv-2', correlationId: 'c0' },
      // An unknown relation fails this item alone (OpenFGA: input_error validation_error).
      { user: 'user:alice', relation: 'approver', object: 'invoice:inv-1', correlationId: 'x' },
    ],
  });
  const byId = Object.fromEntries(result.map((r) => [r.correlationId, r]));
  assert.deepEqual(Object.keys(byId).sort(), ['a1', 'a2', 'b1', 'b2', 'c0', 'c2', 'x']);
  for (const [id, expected] of [['a1', true], ['a2', false], ['b2', true], ['b1', false],
    ['c2', true], ['c0', false]]) {
    assert.equal(byId[id].allowed, expected, id);
    assert.equal(byId[id].error, undefined, `${id}: ${JSON.stringify(byId[id].error)}`);
  }
  assert.equal(byId.x.allowed, false);
  assert.equal(byId.x.error?.input_error, 'validation_error', JSON.stringify(byId.x.error));
  assert.match(byId.x.error.message, /approver/);
});

test('listRelations (the SDK\'s checks in parallel) names exactly the relations that hold', async () => {
  const relations = ['tenant', 'owner', 'viewer', 'editor'];
  const bob = await fga().listRelations({ user: 'user:bob', object: 'invoice:inv-1', relations });
  assert.deepEqual(sorted(bob.relations), ['viewer']);
  const alice = await fga().listRelations({
    user: 'user:alice', object: 'invoice:inv-1', relations,
  });
  assert.deepEqual(sorted(alice.relations), ['editor', 'owner', 'viewer']);
});

test('listObjects: every object the user may view, and contextual tuples count', async () => {
  const client = fga();
  const list = async (user, relation, extra = {}) =>
    sorted((await client.listObjects({ user, relation, type: 'invoice', ...extra })).objects);
  assert.deepEqual(await list('user:alice', 'viewer'), ['invoice:inv-1']);
  assert.deepEqual(await list('user:bob', 'viewer'), ['invoice:inv-1', 'invoice:inv-2']);
  assert.deepEqual(await list('user:alice', 'editor'), ['invoice:inv-1']);
  assert.deepEqual(await list('user:bob', 'editor'), ['invoice:inv-2']);
  assert.deepEqual(await list('user:mallory', 'viewer'), []);
  assert.deepEqual(await list('user:carol', 'viewer', {
    contextualTuples: [{ user: 'user:carol', relation: 'owner', object: 'invoice:inv-3' }],
  }), ['invoice:inv-3']);
  const tenants = await client.listObjects(
    { user: 'user:bob', relation: 'accountant', type: 'tenant' });
  assert.deepEqual(tenants.objects, ['tenant:acme']);
});

test('streamedListObjects gives the same objects as listObjects', async () => {
  const client = fga();
  for (const [user, relation] of [['user:alice', 'viewer'], ['user:bob', 'viewer'],
    ['user:bob', 'editor'], ['user:mallory', 'viewer']]) {
    const request = { user, relation, type: 'invoice' };
    const listed = (await client.listObjects(request)).objects;
    const got = await streamed(client, request);
    assert.deepEqual(sorted(got), sorted(listed), `${user} ${relation}`);
    assert.equal(new Set(got).size, got.length, `duplicates in the stream: ${got}`);
  }
  const bob = await streamed(client, { user: 'user:bob', relation: 'viewer', type: 'invoice' });
  assert.deepEqual(sorted(bob), ['invoice:inv-1', 'invoice:inv-2']);
});

test('listUsers: the users, usersets and objects related, with user filters', async () => {
  const client = fga();
  const users = async (object, relation, filter, extra = {}) => {
    const [type, id] = object.split(':');
    const r = await client.listUsers({
      object: { type, id }, relation, user_filters: [filter], ...extra,
    });
    return sorted(r.users.map(userString));
  };
  assert.deepEqual(await users('invoice:inv-1', 'viewer', { type: 'user' }),
    ['user:alice', 'user:bob']);
  assert.deepEqual(await users('invoice:inv-2', 'viewer', { type: 'user' }), ['user:bob']);
  assert.deepEqual(await users('invoice:inv-2', 'editor', { type: 'user' }), ['user:bob']);
  assert.deepEqual(await users('tenant:acme', 'member', { type: 'user' }),
    ['user:alice', 'user:bob']);
  assert.deepEqual(await users('invoice:inv-1', 'tenant', { type: 'tenant' }), ['tenant:acme']);
  assert.deepEqual(await users('invoice:inv-9', 'viewer', { type: 'user' }), []);
  // ListUsers takes its contextual tuples as a plain list (not {tuple_keys}), as the SDK sends.
  assert.deepEqual(await users('invoice:inv-1', 'viewer', { type: 'user' }, {
    contextualTuples: [{ user: 'user:carol', relation: 'owner', object: 'invoice:inv-1' }],
  }), ['user:alice', 'user:bob', 'user:carol']);
});

test('expand: the userset tree of OpenFGA\'s shape', async () => {
  const client = fga();
  const viewer = await client.expand({ relation: 'viewer', object: 'invoice:inv-1' });
  assert.deepEqual(canonical(viewer.tree), canonical({
    root: {
      name: 'invoice:inv-1#viewer',
      union: {
        nodes: [
          { name: 'invoice:inv-1#viewer', leaf: { computed: { userset: 'invoice:inv-1#owner' } } },
          {
            name: 'invoice:inv-1#viewer',
            leaf: {
              tupleToUserset: {
                tupleset: 'invoice:inv-1#tenant',
                computed: [{ userset: 'tenant:acme#accountant' }],
              },
            },
          },
        ],
      },
    },
  }));
  const owner = await client.expand({ relation: 'owner', object: 'invoice:inv-1' });
  assert.deepEqual(canonical(owner.tree),
    { root: { leaf: { users: { users: ['user:alice'] } }, name: 'invoice:inv-1#owner' } });
  const members = await client.expand({ relation: 'member', object: 'tenant:acme' });
  assert.equal(members.tree.root.name, 'tenant:acme#member');
  assert.deepEqual(sorted(members.tree.root.leaf.users.users), ['user:alice', 'user:bob']);
});

test('read: the stored tuples, filtered and paged', async () => {
  const client = fga();
  const all = await client.read();
  assert.deepEqual(sorted(all.tuples.map((t) => key(t.key))), sorted(DEMO_TUPLES));
  for (const t of all.tuples) {
    assert.ok(!Number.isNaN(Date.parse(t.timestamp)), `timestamp ${t.timestamp}`);
    assert.equal(t.key.condition, undefined, JSON.stringify(t.key));
  }
  const inv1 = await client.read({ object: 'invoice:inv-1' });
  assert.deepEqual(sorted(inv1.tuples.map((t) => key(t.key))),
    ['invoice:inv-1#owner@user:alice', 'invoice:inv-1#tenant@tenant:acme']);
  // OpenFGA: with user and relation given, the object may be a bare type.
  const bobTenants = await client.read({ user: 'user:bob', relation: 'member', object: 'tenant:' });
  assert.deepEqual(bobTenants.tuples.map((t) => key(t.key)), ['tenant:acme#member@user:bob']);
  const none = await client.read({ object: 'invoice:inv-9' });
  assert.deepEqual(none.tuples, []);
  assert.ok(!none.continuation_token, `no tuples, yet a token: ${none.continuation_token}`);

  // Pages of 3: 3 + 3 + 1, the last with no continuation token.
  const pages = [];
  let token;
  do {
    const page = await client.read({}, { pageSize: 3, continuationToken: token });
    pages.push(page.tuples.map((t) => key(t.key)));
    token = page.continuation_token;
    assert.ok(pages.length <= 10, 'read pages never end');
  } while (token);
  assert.deepEqual(pages.map((p) => p.length), [3, 3, 1]);
  assert.deepEqual(sorted(pages.flat()), sorted(DEMO_TUPLES));
});

test('readChanges: the change log, all of it or for one type', async () => {
  const client = fga();
  const all = await client.readChanges();
  assert.deepEqual(sorted(all.changes.map((c) => key(c.tuple_key))), sorted(DEMO_TUPLES));
  for (const c of all.changes) {
    assert.equal(c.operation, 'TUPLE_OPERATION_WRITE');
    assert.ok(!Number.isNaN(Date.parse(c.timestamp)), `timestamp ${c.timestamp}`);
  }
  const invoices = await client.readChanges({ type: 'invoice' });
  assert.deepEqual(sorted(invoices.changes.map((c) => key(c.tuple_key))),
    sorted(DEMO_TUPLES.filter((t) => t.startsWith('invoice:'))));
  // Pages of 2 in order give the same change log.
  const paged = [];
  let token;
  for (;;) {
    const page = await client.readChanges({}, { pageSize: 2, continuationToken: token });
    if (page.changes.length === 0) break;
    assert.ok(page.changes.length <= 2);
    paged.push(...page.changes.map((c) => key(c.tuple_key)));
    token = page.continuation_token;
    assert.ok(token, 'a page of changes without a continuation token');
    assert.ok(paged.length <= DEMO_TUPLES.length, `changes repeat: ${paged}`);
  }
  assert.deepEqual(paged, all.changes.map((c) => key(c.tuple_key)));
});

test('authorization models: by id, all of them, the latest; the model as written in the DSL', async () => {
  const client = fga({ modelId: ready.fga_model });
  const { authorization_model: model } = await client.readAuthorizationModel();
  assert.equal(model.id, ready.fga_model);
  assert.equal(model.schema_version, '1.1');
  assert.deepEqual(modelBody(model), modelBody(transformer.transformDSLToJSONObject(INVOICES_DSL)));
  const models = await fga().readAuthorizationModels();
  assert.deepEqual(models.authorization_models.map((m) => m.id), [ready.fga_model]);
  const latest = await fga().readLatestAuthorizationModel();
  assert.equal(latest.authorization_model.id, ready.fga_model);
  assert.deepEqual(modelBody(latest.authorization_model), modelBody(model));
});

// --- A fresh store, end to end (the tests below run in order and share it) -----------------------

let store;  // the fresh store's id
let model;  // its model's id
const docs = () => fga({ storeId: store, modelId: model });

test('createStore, getStore, listStores', async () => {
  const created = await fga({ storeId: null }).createStore({ name: 'sdk-docs' });
  assert.match(created.id, ULID);
  assert.equal(created.name, 'sdk-docs');
  assert.ok(!Number.isNaN(Date.parse(created.created_at)), created.created_at);
  assert.ok(!Number.isNaN(Date.parse(created.updated_at)), created.updated_at);
  store = created.id;
  const got = await fga({ storeId: store }).getStore();
  assert.deepEqual({ id: got.id, name: got.name, created_at: got.created_at },
    { id: store, name: 'sdk-docs', created_at: created.created_at });
  const listed = await fga({ storeId: null }).listStores();
  const ids = listed.stores.map((s) => s.id);
  assert.ok(ids.includes(store), `${ids}`);
  assert.ok(ids.includes(ready.fga_store), `${ids}`);
  assert.equal(listed.stores.find((s) => s.id === store).name, 'sdk-docs');
  // A fresh store has no model yet: OpenFGA answers an empty list.
  const none = await fga({ storeId: store }).readAuthorizationModels();
  assert.deepEqual(none.authorization_models, []);
});

test('writeAuthorizationModel: a model with a condition, converted by syntax-transformer', async () => {
  const json = transformer.transformDSLToJSONObject(DOCS_DSL);
  const written = await fga({ storeId: store }).writeAuthorizationModel(json);
  assert.match(written.authorization_model_id, ULID);
  model = written.authorization_model_id;
  const { authorization_model: read } = await docs().readAuthorizationModel();
  assert.equal(read.id, model);
  assert.deepEqual(modelBody(read), modelBody(json));
  assert.deepEqual(Object.keys(read.conditions), ['non_expired']);
});

test('write: tuples, one of them conditional; read gives the condition back', async () => {
  const r = await docs().write({
    writes: [
      { user: 'user:carol', relation: 'viewer', object: 'document:plan', condition: EXPIRES },
      { user: 'group:eng#member', relation: 'viewer', object: 'document:plan' },
      { user: 'user:dan', relation: 'member', object: 'group:eng' },
      { user: 'user:dan', relation: 'blocked', object: 'document:plan' },
      { user: 'user:erin', relation: 'viewer', object: 'document:spec' },
    ],
  });
  assert.equal(r.writes.length, 5);
  assert.ok(r.writes.every((w) => w.status === ClientWriteStatus.SUCCESS));
  const plan = await docs().read({ object: 'document:plan' });
  const carol = plan.tuples.find((t) => t.key.user === 'user:carol');
  assert.deepEqual(carol.key.condition, EXPIRES);
  assert.deepEqual(sorted(plan.tuples.map((t) => key(t.key))), [
    'document:plan#blocked@user:dan', 'document:plan#viewer@group:eng#member',
    'document:plan#viewer@user:carol',
  ]);
});

test('check with a condition: the request context decides; a missing parameter is an error', async () => {
  const client = docs();
  const carol = { user: 'user:carol', relation: 'viewer', object: 'document:plan' };
  assert.equal((await client.check({ ...carol, context: BEFORE_EXPIRY })).allowed, true);
  assert.equal((await client.check({ ...carol, context: AFTER_EXPIRY })).allowed, false);
  // Not a silent false: OpenFGA answers 400 validation_error naming the parameter.
  await rejects(client.check(carol), FgaApiValidationError,
    { status: 400, code: 'validation_error', message: /current_time/ });
  await rejects(client.check({ ...carol, context: { expires_at: '2030-01-01T00:00:00Z' } }),
    FgaApiValidationError, { status: 400, code: 'validation_error', message: /current_time/ });

  assert.equal(await allowed(client, 'document:plan#viewer@user:dan'), true);  // via group:eng
  assert.equal(await allowed(client, 'document:plan#reader@user:dan'), false);  // blocked
  assert.equal(await allowed(client, 'document:spec#reader@user:erin'), true);
  assert.equal(await allowed(client, 'document:plan#reader@user:carol',
    { context: BEFORE_EXPIRY }), true);

  // The same condition through ListObjects and ListUsers.
  const objects = async (context) => (await client.listObjects({
    user: 'user:carol', relation: 'viewer', type: 'document', context,
  })).objects;
  assert.deepEqual(await objects(BEFORE_EXPIRY), ['document:plan']);
  assert.deepEqual(await objects(AFTER_EXPIRY), []);
  const users = async (filter, context) => sorted((await client.listUsers({
    object: { type: 'document', id: 'plan' }, relation: 'viewer', user_filters: [filter], context,
  })).users.map(userString));
  assert.deepEqual(await users({ type: 'user' }, BEFORE_EXPIRY), ['user:carol', 'user:dan']);
  assert.deepEqual(await users({ type: 'user' }, AFTER_EXPIRY), ['user:dan']);
  assert.deepEqual(await users({ type: 'group', relation: 'member' }, AFTER_EXPIRY),
    ['group:eng#member']);
});

test('contextual tuples count for one request only, conditions included', async () => {
  const client = docs();
  const frank = { user: 'user:frank', relation: 'viewer', object: 'document:plan' };
  assert.equal((await client.check(frank)).allowed, false);
  assert.equal((await client.check({ ...frank, contextualTuples: [frank] })).allowed, true);
  assert.equal((await client.check(frank)).allowed, false);
  // Through a group, contextually.
  assert.equal((await client.check({
    ...frank, contextualTuples: [{ user: 'user:frank', relation: 'member', object: 'group:eng' }],
  })).allowed, true);
  // A contextual tuple with an expired condition does not grant.
  const gina = { user: 'user:gina', relation: 'viewer', object: 'document:plan' };
  const expired = { name: 'non_expired', context: { expires_at: '2020-01-01T00:00:00Z' } };
  assert.equal((await client.check({
    ...gina, context: BEFORE_EXPIRY, contextualTuples: [{ ...gina, condition: expired }],
  })).allowed, false);
  assert.equal((await client.check({
    ...gina, context: BEFORE_EXPIRY, contextualTuples: [{ ...gina, condition: EXPIRES }],
  })).allowed, true);
});

test('write conflicts: on_duplicate and on_missing, error by default, ignore on request', async () => {
  const client = docs();
  const erin = { user: 'user:erin', relation: 'viewer', object: 'document:spec' };
  const dup = await rejects(client.write({ writes: [erin] }), FgaApiValidationError, {
    status: 400, code: 'write_failed_due_to_invalid_input',
    message: /cannot write a tuple which already exists/,
  });
  assert.match(dup.apiErrorMessage, /user:erin/);
  const ignored = await client.write({ writes: [erin] },
    { conflict: { onDuplicateWrites: ClientWriteRequestOnDuplicateWrites.Ignore } });
  assert.equal(ignored.writes[0].status, ClientWriteStatus.SUCCESS);
  // The whole write is one transaction: a duplicate beside a new tuple writes neither.
  const hank = { user: 'user:hank', relation: 'viewer', object: 'document:spec' };
  await rejects(client.write({ writes: [hank, erin] }), FgaApiValidationError,
    { status: 400, code: 'write_failed_due_to_invalid_input' });
  assert.equal((await client.check(hank)).allowed, false);
  // Ignoring a duplicate does not ignore a different condition on it (OpenFGA).
  await rejects(client.write({ writes: [{ ...erin, condition: EXPIRES }] },
    { conflict: { onDuplicateWrites: ClientWriteRequestOnDuplicateWrites.Ignore } }),
  FgaApiValidationError, { status: 400, code: 'write_failed_due_to_invalid_input' });

  const ivan = { user: 'user:ivan', relation: 'viewer', object: 'document:spec' };
  await rejects(client.deleteTuples([ivan]), FgaApiValidationError, {
    status: 400, code: 'write_failed_due_to_invalid_input',
    message: /cannot delete a tuple which does not exist/,
  });
  const skipped = await client.deleteTuples([ivan],
    { conflict: { onMissingDeletes: ClientWriteRequestOnMissingDeletes.Ignore } });
  assert.equal(skipped.deletes[0].status, ClientWriteStatus.SUCCESS);
});

test('deletes take effect, and the change log records writes and deletes in order', async () => {
  const client = docs();
  const erin = { user: 'user:erin', relation: 'viewer', object: 'document:spec' };
  const dan = { user: 'user:dan', relation: 'blocked', object: 'document:plan' };
  const r = await client.write({
    writes: [{ user: 'user:judy', relation: 'viewer', object: 'document:spec' }],
    deletes: [erin, dan],
  });
  assert.equal(r.deletes.length, 2);
  assert.equal((await client.check(erin)).allowed, false);
  assert.equal(await allowed(client, 'document:plan#reader@user:dan'), true);
  assert.equal(await allowed(client, 'document:spec#reader@user:judy'), true);
  const read = await client.read({ object: 'document:spec' });
  assert.deepEqual(read.tuples.map((t) => key(t.key)), ['document:spec#viewer@user:judy']);

  const { changes } = await client.readChanges({ type: 'document' });
  const log = changes.map(
    (c) => `${c.operation.replace('TUPLE_OPERATION_', '')} ${key(c.tuple_key)}`);
  // The first write (four document tuples), then this one: its deletes and its write.
  assert.deepEqual(log.slice(0, 4).sort(), [
    'WRITE document:plan#blocked@user:dan', 'WRITE document:plan#viewer@group:eng#member',
    'WRITE document:plan#viewer@user:carol', 'WRITE document:spec#viewer@user:erin',
  ]);
  assert.deepEqual(log.slice(4).sort(), [
    'DELETE document:plan#blocked@user:dan', 'DELETE document:spec#viewer@user:erin',
    'WRITE document:spec#viewer@user:judy',
  ]);
  const carol = changes.find((c) => c.tuple_key.user === 'user:carol');
  assert.deepEqual(carol.tuple_key.condition, EXPIRES);
});

test('assertions: written for a model, read back', async () => {
  const client = docs();
  await client.writeAssertions([
    { user: 'user:dan', relation: 'viewer', object: 'document:plan', expectation: true },
    { user: 'user:erin', relation: 'reader', object: 'document:spec', expectation: false },
  ]);
  const r = await client.readAssertions();
  assert.equal(r.authorization_model_id, model);
  assert.deepEqual(r.assertions.map((a) => ({ ...a.tuple_key, expectation: a.expectation })), [
    { user: 'user:dan', relation: 'viewer', object: 'document:plan', expectation: true },
    { user: 'user:erin', relation: 'reader', object: 'document:spec', expectation: false },
  ]);
  // Writing again replaces them.
  await client.writeAssertions([]);
  assert.deepEqual((await client.readAssertions()).assertions ?? [], []);
});

test('a second model becomes the latest; the first stays readable and usable by id', async () => {
  const json = transformer.transformDSLToJSONObject(DOCS_V2_DSL);
  const written = await fga({ storeId: store }).writeAuthorizationModel(json);
  const second = written.authorization_model_id;
  assert.match(second, ULID);
  assert.ok(second > model, 'model ids are ULIDs in creation order');
  const all = await fga({ storeId: store }).readAuthorizationModels();
  assert.deepEqual(all.authorization_models.map((m) => m.id), [second, model]);
  const latest = await fga({ storeId: store }).readLatestAuthorizationModel();
  assert.equal(latest.authorization_model.id, second);
  // dan is not blocked any more (deleted above); under the second model `reader` ignores blocks.
  await docs().write({ writes: [tk('document:plan#blocked@user:dan')] });
  const dan = { user: 'user:dan', relation: 'reader', object: 'document:plan' };
  assert.equal((await fga({ storeId: store }).check(dan)).allowed, true);
  assert.equal((await docs().check(dan)).allowed, false);
});

// --- Errors --------------------------------------------------------------------------------------

test('an invalid model: FgaApiValidationError invalid_authorization_model', async () => {
  const undefinedRelation = transformer.transformDSLToJSONObject(
    'model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: editor\n');
  await rejects(fga({ storeId: store }).writeAuthorizationModel(undefinedRelation),
    FgaApiValidationError, { status: 400, code: 'invalid_authorization_model', message: /editor/ });
  const undefinedType = transformer.transformDSLToJSONObject(
    'model\n  schema 1.1\ntype user\ntype doc\n  relations\n    define viewer: [team]\n');
  await rejects(fga({ storeId: store }).writeAuthorizationModel(undefinedType),
    FgaApiValidationError, { status: 400, code: 'invalid_authorization_model', message: /team/ });
  // Nothing was written.
  const all = await fga({ storeId: store }).readAuthorizationModels();
  assert.equal(all.authorization_models.length, 2);
});

test('an invalid tuple in a write: 400 validation_error "Invalid tuple \'<tuple>\'. Reason: ..."', async () => {
  // OpenFGA's Write wraps every tuple validation failure (pkg/server/commands/write.go:
  // serverErrors.ValidationError(InvalidTupleError)); clients parse the message.
  const client = docs();
  const cases = [
    ['document:1#owner@user:x', /relation 'document#owner' not found/],
    ['folder:1#viewer@user:x', /type 'folder' not found/],
    ['document:1#viewer@group:eng', /group/],  // a user type the relation does not allow
  ];
  for (const [tuple, reason] of cases) {
    const e = await rejects(client.write({ writes: [tk(tuple)] }), FgaApiValidationError,
      { status: 400, code: 'validation_error' });
    assert.match(e.apiErrorMessage, new RegExp(`^Invalid tuple '${tuple}'\\. Reason: `));
    assert.match(e.apiErrorMessage, reason);
  }
  // A condition the model does not define.
  await rejects(client.write(
    { writes: [{ ...tk('document:1#viewer@user:x'), condition: { name: 'nope' } }] }),
  FgaApiValidationError, { status: 400, code: 'validation_error', message: /nope/ });
});

test('invalid input to check and list-objects: validation_error, invalid_tuple, *_not_found', async () => {
  const client = docs();
  await rejects(client.check(tk('document:1#owner@user:x')),
    FgaApiValidationError, { status: 400, code: 'validation_error', message: /owner/ });
  // A bad contextual tuple: 2027 invalid_tuple (OpenFGA's conformance suite).
  await rejects(client.check({
    ...tk('document:1#viewer@user:x'), contextualTuples: [tk('folder:x#viewer@user:x')],
  }), FgaApiValidationError, { status: 400, code: 'invalid_tuple', message: /folder/ });
  // ListObjects names what is unknown (OpenFGA's conformance suite: 2022, 2021).
  await rejects(client.listObjects({ user: 'user:x', relation: 'owner', type: 'document' }),
    FgaApiValidationError, { status: 400, code: 'relation_not_found' });
  await rejects(client.listObjects({ user: 'user:x', relation: 'viewer', type: 'folder' }),
    FgaApiValidationError, { status: 400, code: 'type_not_found' });
});

test('authentication: no key -> 401 bearer_token_missing, a wrong key -> 401 unauthenticated', async () => {
  // OpenFGA's codes (pkg/authn): bearer_token_missing without a credential, unauthenticated for
  // one it does not accept; the SDK throws FgaApiAuthenticationError for both.
  for (const [token, code] of [[null, 'bearer_token_missing'], ['not-the-key', 'unauthenticated'],
    [`${ready.fga_token}x`, 'unauthenticated']]) {
    const client = fga({ token });
    for (const call of [
      () => client.check({ user: 'user:alice', relation: 'viewer', object: 'invoice:inv-1' }),
      () => client.listStores(),
      () => client.read(),
    ]) {
      await rejects(call(), FgaApiAuthenticationError, { status: 401, code });
    }
  }
  // RFC 6750 §3: the challenge names the scheme; §3.1: no error code when no credential came.
  const body = { tuple_key: { user: 'user:alice', relation: 'viewer', object: 'invoice:inv-1' } };
  const none = await raw('POST', `/stores/${ready.fga_store}/check`, body, { token: null });
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="fga"');
  assert.equal(none.body.code, 'bearer_token_missing');
  const wrong = await raw('POST', `/stores/${ready.fga_store}/check`, body, { token: 'not-the-key' });
  assert.equal(wrong.status, 401);
  assert.match(wrong.headers.get('www-authenticate') ?? '', /^Bearer realm="fga", error="invalid_token"/);
  assert.equal(wrong.body.code, 'unauthenticated');
});

test('an unknown store: 404 store_id_not_found; an unknown path: 404 undefined_endpoint', async () => {
  await rejects(fga({ storeId: UNKNOWN_ULID }).getStore(), FgaApiNotFoundError,
    { status: 404, code: 'store_id_not_found' });
  await rejects(fga({ storeId: UNKNOWN_ULID }).check(tk('invoice:inv-1#viewer@user:alice')),
    FgaApiNotFoundError, { status: 404, code: 'store_id_not_found' });
  await rejects(fga({ storeId: UNKNOWN_ULID }).read(), FgaApiNotFoundError,
    { status: 404, code: 'store_id_not_found' });
  const r = await raw('POST', `/stores/${ready.fga_store}/no-such-endpoint`, {});
  assert.equal(r.status, 404);
  assert.equal(r.body.code, 'undefined_endpoint');
});

test('an unknown model id: 400 authorization_model_not_found (FgaApiValidationError)', async () => {
  // OpenFGA: serverErrors.AuthorizationModelNotFound is code 2001, which its HTTP gateway
  // (NewEncodedError) sends as 400 like every 2000-range code.
  const client = fga({ modelId: UNKNOWN_ULID });
  await rejects(client.readAuthorizationModel(), FgaApiValidationError,
    { status: 400, code: 'authorization_model_not_found' });
  await rejects(client.check(tk('invoice:inv-1#viewer@user:alice')), FgaApiValidationError,
    { status: 400, code: 'authorization_model_not_found' });
});

// --- What the SDK does not see -------------------------------------------------------------------

test('list-objects pages with continuation tokens instead of truncating (raw HTTP)', async () => {
  const expected = ['invoice:inv-1', 'invoice:inv-2'];
  const body = {
    type: 'invoice', relation: 'viewer', user: 'user:bob', authorization_model_id: ready.fga_model,
  };
  const full = await raw('POST', `/stores/${ready.fga_store}/list-objects`, body);
  assert.equal(full.status, 200, full.text);
  assert.deepEqual(sorted(full.body.objects), expected);
  assert.ok(!full.body.continuation_token, `one page, yet a token: ${full.text}`);

  const pages = [];
  let token;
  do {
    const r = await raw('POST', `/stores/${ready.fga_store}/list-objects`,
      { ...body, page_size: 1, ...(token ? { continuation_token: token } : {}) });
    assert.equal(r.status, 200, r.text);
    assert.equal(typeof r.body.continuation_token, 'string', r.text);
    pages.push(r.body.objects);
    token = r.body.continuation_token;
    assert.ok(pages.length <= 5, `pages never end: ${JSON.stringify(pages)}`);
  } while (token);
  // One object per page, the token empty on the last page, nothing lost, nothing twice.
  assert.deepEqual(pages.map((p) => p.length), [1, 1]);
  assert.deepEqual(sorted(pages.flat()), expected);

  // A larger list in the fresh store: 7 documents in pages of 3.
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((n) => `document:p-${n}`);
  await fga({ storeId: store }).write({
    writes: names.map((object) => ({ user: 'user:pat', relation: 'viewer', object })),
  });
  const all = sorted((await fga({ storeId: store }).listObjects({
    user: 'user:pat', relation: 'viewer', type: 'document',
  })).objects);
  assert.deepEqual(all, sorted(names));
  const paged = [];
  token = undefined;
  do {
    const r = await raw('POST', `/stores/${store}/list-objects`, {
      type: 'document', relation: 'viewer', user: 'user:pat', page_size: 3,
      ...(token ? { continuation_token: token } : {}),
    });
    assert.equal(r.status, 200, r.text);
    paged.push(r.body.objects);
    token = r.body.continuation_token;
    assert.ok(paged.length <= 10, `pages never end: ${JSON.stringify(paged)}`);
  } while (token);
  assert.deepEqual(paged.map((p) => p.length), [3, 3, 1]);
  assert.deepEqual(sorted(paged.flat()), all);
  // A token that is not one of ours: 400 invalid_continuation_token.
  const forged = await raw('POST', `/stores/${store}/list-objects`, {
    type: 'document', relation: 'viewer', user: 'user:pat', page_size: 3,
    continuation_token: 'bm90LWEtdG9rZW4',
  });
  assert.equal(forged.status, 400, forged.text);
  assert.equal(forged.body.code, 'invalid_continuation_token');
});

test('write answers a consistency token that check, read and list-objects accept (raw HTTP)', async () => {
  const tuple = { user: 'user:quinn', relation: 'viewer', object: 'document:q' };
  const w = await raw('POST', `/stores/${store}/write`, { writes: { tuple_keys: [tuple] } });
  assert.equal(w.status, 200, w.text);
  assert.equal(typeof w.body.consistency_token, 'string', w.text);
  assert.ok(w.body.consistency_token.length > 0, w.text);
  const consistency_token = w.body.consistency_token;
  const check = await raw('POST', `/stores/${store}/check`,
    { tuple_key: tuple, consistency_token });
  assert.equal(check.status, 200, check.text);
  assert.equal(check.body.allowed, true);
  const read = await raw('POST', `/stores/${store}/read`, { tuple_key: tuple, consistency_token });
  assert.equal(read.status, 200, read.text);
  assert.deepEqual(read.body.tuples.map((t) => key(t.key)), ['document:q#viewer@user:quinn']);
  const list = await raw('POST', `/stores/${store}/list-objects`,
    { type: 'document', relation: 'viewer', user: 'user:quinn', consistency_token });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.objects, ['document:q']);
});

// --- The end of the fresh store ------------------------------------------------------------------

test('deleteStore: then getStore is FgaApiNotFoundError store_id_not_found', async () => {
  const client = fga({ storeId: store });
  await client.deleteStore();
  await rejects(client.getStore(), FgaApiNotFoundError,
    { status: 404, code: 'store_id_not_found' });
  await rejects(client.check({ user: 'user:dan', relation: 'viewer', object: 'document:plan' }),
    FgaApiNotFoundError, { status: 404, code: 'store_id_not_found' });
  const listed = await fga({ storeId: null }).listStores();
  assert.ok(!listed.stores.some((s) => s.id === store), 'a deleted store is still listed');
  // The demo store is untouched.
  assert.equal(await allowed(fga(), 'invoice:inv-1#viewer@user:bob'), true);
});
