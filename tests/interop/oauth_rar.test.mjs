// Rich Authorization Requests (RFC 9396) at a `tessera serve` of the as role configured with two
// authorization details types (as.authorization_details_types: payment_initiation with a JSON
// Schema, account_information with `schema: true`), driven by a real, unmodified client library:
// oauth4webapi 3 pushes authorization_details (PAR, RFC 9126), redeems the code, refreshes, gets
// client credentials and introspects; jose verifies the JWT access tokens against the JWKS of the
// discovery document. The user's side (login and consent pages) is walked over plain HTTP by
// tests/lib/login.mjs. Checked: the metadata lists the types (§10.1); the consent page shows
// every object, even for a --skip-consent client (§4); the token response, the JWT access token
// and introspection carry the granted details (§7, §9); a token request may narrow them and a
// refresh without the parameter gets them all again, while anything beyond the grant is
// invalid_authorization_details and spends the code (§6.1); unknown types and schema violations
// are refused at PAR with the JSON Pointer of the offending member and no request_uri (§5);
// client credentials take details of the types the client may use (§6.2). oauth4webapi 3.8
// passes authorization_details of a token response through without checking them, so the
// assertions here are what checks them. The only relaxation is allowInsecureRequests: plain http
// on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { BIN } from '../lib/tessera.mjs';
import { CookieJar, signIn, visit } from '../lib/login.mjs';
import {
  accessTokenClaims, authorizationRequest, authorizationUrl, insecure, pushedUrl, redeemCode,
  startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

// The resource server the client credentials tokens are for.
const BANK = 'https://bank.example';

// What the tests ask for: a payment (its type's schema holds it to the currencies and members it
// lists) and account access (any object of the type).
const PAYMENT = {
  type: 'payment_initiation',
  actions: ['initiate', 'status', 'cancel'],
  locations: ['https://bank.example/payments'],
  instructedAmount: { currency: 'EUR', amount: '123.50' },
  creditorName: 'Merchant A & Co',
};
const ACCOUNTS = {
  type: 'account_information',
  actions: ['list_accounts', 'read_balances'],
  locations: ['https://bank.example/accounts'],
  identifier: 'DE89370400440532013000',
  purpose: { text: 'budgeting', until: 20301231 },
};
// An amount in a currency the payment schema does not list.
const POUNDS = { currency: 'GBP', amount: '1.00' };

describe('tessera serve with as.authorization_details_types', () => {
  let as;
  const env = startInteropServe('tessera-rar-', {
    asExtra: [
      'authorization_details_types:',
      '  payment_initiation:',
      '    description: Payment',
      '    schema:',
      '      type: object',
      '      required: [instructedAmount, creditorName]',
      '      additionalProperties: false',
      '      properties:',
      '        type: {const: payment_initiation}',
      '        actions: {type: array, items: {enum: [initiate, status, cancel]}}',
      '        locations: {type: array, items: {type: string}, maxItems: 2}',
      '        instructedAmount:',
      '          type: object',
      '          required: [currency, amount]',
      '          properties: {currency: {enum: [EUR, USD]}, amount: {type: string}}',
      '        creditorName: {type: string}',
      '  account_information:',
      '    schema: true',
    ],
    clients: (issuer) => ({
      web: ['--id', 'rar-web', '--type', 'confidential', '--grant-type', 'authorization_code',
        '--grant-type', 'refresh_token', '--redirect-uri', `${issuer}/cb`, '--scope', 'openid profile',
        '--skip-consent'],
      svc: ['--id', 'rar-svc', '--grant-type', 'client_credentials', '--scope', 'accounts:read',
        '--audience', BANK],
      opaqueSvc: ['--id', 'rar-opaque', '--grant-type', 'client_credentials', '--scope', 'accounts:read',
        '--audience', BANK, '--access-token-format', 'opaque'],
      payer: ['--id', 'rar-payer', '--grant-type', 'client_credentials', '--scope', 'payments',
        '--audience', BANK, '--authorization-details-type', 'payment_initiation'],
    }),
    user: 'erin',
  }, (serve) => {
    as = serve.as;
  });

  const client = (c) => ({ client_id: c.client_id });
  const auth = (c) => oauth.ClientSecretBasic(c.client_secret);
  const details = (list) => JSON.stringify(list);

  // A code request of the web client: pushed with oauth4webapi (with `authorization_details`
  // when `asked` is given), then the user signs in at /authorize with the request_uri. Returns
  // the request (authorizationRequest's) and signIn's result, which must end at the redirect URI.
  async function authorize(asked, { jar = new CookieJar() } = {}) {
    const a = await authorizationRequest(env.web,
      { scope: 'openid profile', authorization_details: asked && details(asked) });
    const response = await oauth.pushedAuthorizationRequest(as, client(env.web), auth(env.web), a.params,
      insecure);
    assert.equal(response.status, 201, await response.clone().text());
    const pushed = await oauth.processPushedAuthorizationResponse(as, client(env.web), response);
    const r = await signIn(pushedUrl(as, env.web.client_id, pushed.request_uri).href, env.user, { jar });
    assert.ok(r.location, `no redirect: ${r.page?.status} ${r.page?.text?.slice(0, 300)}`);
    assert.equal(r.location.origin + r.location.pathname, env.web.redirect_uris[0]);
    assert.ok(r.location.searchParams.get('code'), r.location.href);
    return { a, r };
  }

  // A refresh of the web client with oauth4webapi, `asked` as authorization_details when given.
  async function refresh(refreshToken, asked) {
    const response = await oauth.refreshTokenGrantRequest(as, client(env.web), auth(env.web), refreshToken,
      { ...insecure, ...(asked ? { additionalParameters: { authorization_details: details(asked) } } : {}) });
    return oauth.processRefreshTokenResponse(as, client(env.web), response);
  }

  // Client credentials for `c` with oauth4webapi, `asked` as authorization_details when given.
  async function clientCredentials(c, asked) {
    const response = await oauth.clientCredentialsGrantRequest(as, client(c), auth(c),
      asked ? { authorization_details: details(asked) } : {}, insecure);
    return oauth.processClientCredentialsResponse(as, client(c), response);
  }

  // oauth4webapi's refusal of a token or PAR response: a 400 invalid_authorization_details.
  const refusedDetails = (e) => e instanceof oauth.ResponseBodyError && e.status === 400
    && e.error === 'invalid_authorization_details';

  test('discovery lists authorization_details_types_supported (RFC 9396 §10.1)', async () => {
    assert.deepEqual([...as.authorization_details_types_supported].sort(),
      ['account_information', 'payment_initiation']);
    // The OAuth metadata (RFC 8414) says the same as the OpenID configuration oauth4webapi read.
    const response = await fetch(`${env.issuer}/.well-known/oauth-authorization-server`);
    assert.equal(response.status, 200);
    assert.deepEqual([...(await response.json()).authorization_details_types_supported].sort(),
      ['account_information', 'payment_initiation']);
  });

  test('oauth4webapi: PAR with authorization_details; the consent page shows them; the token response, JWT and introspection carry them', async () => {
    // Without authorization_details the --skip-consent client gets no consent page.
    const plain = await authorize(undefined);
    assert.deepEqual(plain.r.pages, ['login']);

    const asked = [PAYMENT, ACCOUNTS];
    const { a, r } = await authorize(asked);
    assert.deepEqual(r.pages, ['login', 'consent'], 'the details are confirmed even for a --skip-consent client (§4)');
    const page = r.shown.consent;
    assert.match(page, /<h2>Payment<\/h2>/, 'the type\'s description is the heading');
    assert.match(page, /<h2>account_information<\/h2>/, 'no description: the type is the heading');
    assert.ok(page.includes('<dt>creditorName</dt><dd>Merchant A &amp; Co</dd>'), page);
    assert.ok(page.includes('<dt>actions</dt><dd>initiate, status, cancel</dd>'), page);
    assert.ok(page.includes('<dt>identifier</dt><dd>DE89370400440532013000</dd>'), page);
    const amount = /<dt>instructedAmount<\/dt><dd>([^<]*)<\/dd>/.exec(page)?.[1];
    assert.ok(amount, page);
    assert.match(amount, /&quot;amount&quot;:&quot;123\.50&quot;/, 'a member that is an object: its JSON, escaped');
    assert.match(amount, /&quot;currency&quot;:&quot;EUR&quot;/);

    const result = await redeemCode(as, env.web, a, r.location);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'openid profile');
    assert.deepEqual(result.authorization_details, asked);
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.client_id, env.web.client_id);
    assert.deepEqual(claims.authorization_details, asked);

    const introspected = await oauth.processIntrospectionResponse(as, client(env.web),
      await oauth.introspectionRequest(as, client(env.web), auth(env.web), result.access_token, insecure));
    assert.equal(introspected.active, true);
    assert.deepEqual(introspected.authorization_details, asked);

    // The code of a request without details gets a token without them.
    const none = await redeemCode(as, env.web, plain.a, plain.r.location);
    assert.equal(none.authorization_details, undefined);
    assert.equal((await accessTokenClaims(as, none.access_token)).authorization_details, undefined);
  });

  test('prompt=none with authorization_details is consent_required, even for a signed-in user of a --skip-consent client', async () => {
    const jar = new CookieJar();
    await authorize(undefined, { jar });
    const a = await authorizationRequest(env.web,
      { scope: 'openid profile', prompt: 'none', authorization_details: details([PAYMENT]) });
    const page = await visit(jar, authorizationUrl(as, env.web.client_id, a.params).href);
    assert.equal(page.status, 303, page.text.slice(0, 300));
    const location = new URL(page.response.headers.get('location'));
    assert.throws(() => oauth.validateAuthResponse(as, client(env.web), location, a.state),
      (e) => e instanceof oauth.AuthorizationResponseError && e.error === 'consent_required');
    // The same request without the details goes through.
    const b = await authorizationRequest(env.web, { scope: 'openid profile', prompt: 'none' });
    const again = await visit(jar, authorizationUrl(as, env.web.client_id, b.params).href);
    assert.equal(again.status, 303, again.text.slice(0, 300));
    assert.ok(oauth.validateAuthResponse(as, client(env.web), new URL(again.response.headers.get('location')),
      b.state).get('code'));
  });

  test('oauth4webapi: fewer details at the token endpoint, then refreshes with and without the parameter (§6.1)', async () => {
    const granted = [PAYMENT, ACCOUNTS];
    const { a, r } = await authorize(granted);
    const narrow = [{ ...PAYMENT, actions: ['initiate'] }];
    const result = await redeemCode(as, env.web, a, r.location,
      { additionalParameters: { authorization_details: details(narrow) } });
    assert.deepEqual(result.authorization_details, narrow);
    assert.deepEqual((await accessTokenClaims(as, result.access_token)).authorization_details, narrow);
    assert.equal(typeof result.refresh_token, 'string');

    // The refresh token keeps the grant's details: without the parameter, all of them.
    const full = await refresh(result.refresh_token);
    assert.deepEqual(full.authorization_details, granted);
    assert.deepEqual((await accessTokenClaims(as, full.access_token)).authorization_details, granted);

    // A refresh may narrow too (a whole object left out, a list shortened), and the next one
    // without the parameter gets everything again.
    const fewer = [{ ...ACCOUNTS, actions: ['read_balances'] }];
    const narrowed = await refresh(full.refresh_token, fewer);
    assert.deepEqual(narrowed.authorization_details, fewer);
    assert.deepEqual((await accessTokenClaims(as, narrowed.access_token)).authorization_details, fewer);
    const again = await refresh(narrowed.refresh_token);
    assert.deepEqual(again.authorization_details, granted);

    // More than granted at a refresh: refused.
    await assert.rejects(refresh(again.refresh_token, [{ ...ACCOUNTS, actions: ['list_accounts', 'transfer'] }]),
      refusedDetails);
  });

  test('oauth4webapi: beyond the grant at the token endpoint is 400 invalid_authorization_details, and the code is spent (§6.1)', async () => {
    const noCancel = { ...PAYMENT, actions: ['initiate', 'status'] };
    const { locations, ...noLocations } = PAYMENT;
    assert.ok(locations);
    const cases = [
      ['one more action', [noCancel], [PAYMENT]],
      ['another amount', [PAYMENT], [{ ...PAYMENT, instructedAmount: { currency: 'EUR', amount: '999.00' } }]],
      ['another location', [PAYMENT], [{ ...PAYMENT, locations: ['https://evil.example/payments'] }]],
      ['a member dropped', [PAYMENT], [noLocations]],
      ['a type not granted', [PAYMENT], [ACCOUNTS]],
      ['details on a grant without any', undefined, [ACCOUNTS]],
    ];
    for (const [name, granted, asked] of cases) {
      const { a, r } = await authorize(granted);
      await assert.rejects(redeemCode(as, env.web, a, r.location,
        { additionalParameters: { authorization_details: details(asked) } }), (e) => {
        assert.ok(refusedDetails(e), `${name}: ${e.status} ${e.error} ${e.error_description ?? e.message}`);
        return true;
      }, name);
      // RFC 6749 §4.1.2: a failed redemption spends the code; asked right, it is still refused.
      await assert.rejects(redeemCode(as, env.web, a, r.location),
        (e) => e instanceof oauth.ResponseBodyError && e.status === 400 && e.error === 'invalid_grant', name);
    }
  });

  test('oauth4webapi: PAR refuses an unknown type and a schema violation with 400 invalid_authorization_details and no request_uri (§5)', async () => {
    const cases = [
      ['an unknown type', details([{ type: 'wire_transfer', amount: '1.00' }]), /unknown type wire_transfer/],
      ['a currency outside the enum', details([{ ...PAYMENT, instructedAmount: POUNDS }]),
        /\/instructedAmount\/currency/],
      ['a required member missing',
        details([{ type: 'payment_initiation', instructedAmount: { currency: 'USD', amount: '1' } }]),
        /creditorName is required/],
      ['a member the schema does not allow', details([{ ...PAYMENT, remittance: 'x' }]), /remittance is not allowed/],
      ['an action outside the enum', details([{ ...PAYMENT, actions: ['initiate', 'refund'] }]), /\/actions\/1/],
      ['a common member of the wrong shape (§2.2)', details([{ ...ACCOUNTS, actions: 'read' }]),
        /actions must be an array of strings/],
      ['an object without type', details([{ actions: ['read'] }]), /has no type/],
      ['an empty array', '[]', /non-empty/],
      ['not JSON', '[{"type":', /not valid JSON/],
    ];
    for (const [name, text, description] of cases) {
      const a = await authorizationRequest(env.web, { authorization_details: text });
      const response = await oauth.pushedAuthorizationRequest(as, client(env.web), auth(env.web), a.params, insecure);
      assert.equal(response.status, 400, `${name}: ${await response.clone().text()}`);
      assert.match(response.headers.get('content-type'), /application\/json/, name);
      const body = await response.clone().json();
      assert.equal(body.error, 'invalid_authorization_details', name);
      assert.match(body.error_description, description, name);
      assert.equal(body.request_uri, undefined, `${name}: no request_uri is issued`);
      assert.equal(body.expires_in, undefined, name);
      await assert.rejects(oauth.processPushedAuthorizationResponse(as, client(env.web), response),
        refusedDetails, name);
    }
    // The same client's well-formed push goes through.
    const a = await authorizationRequest(env.web,
      { authorization_details: details([{ ...PAYMENT, instructedAmount: { currency: 'USD', amount: '1.00' } }]) });
    const ok = await oauth.pushedAuthorizationRequest(as, client(env.web), auth(env.web), a.params, insecure);
    assert.equal(ok.status, 201, await ok.clone().text());
    assert.ok((await oauth.processPushedAuthorizationResponse(as, client(env.web), ok)).request_uri);
  });

  test('oauth4webapi: client credentials with authorization_details (§6.2); an opaque token introspected', async () => {
    const asked = [ACCOUNTS];
    const result = await clientCredentials(env.svc, asked);
    assert.deepEqual(result.authorization_details, asked);
    const claims = await accessTokenClaims(as, result.access_token);
    assert.equal(claims.sub, env.svc.client_id);
    assert.deepEqual([claims.aud].flat(), [BANK]);
    assert.deepEqual(claims.authorization_details, asked);
    const plain = await clientCredentials(env.svc);
    assert.equal(plain.authorization_details, undefined);
    assert.equal((await accessTokenClaims(as, plain.access_token)).authorization_details, undefined);

    const opaque = await clientCredentials(env.opaqueSvc, asked);
    assert.deepEqual(opaque.authorization_details, asked);
    assert.notEqual(opaque.access_token.split('.').length, 3, 'an opaque token, not a JWT');
    const introspected = await oauth.processIntrospectionResponse(as, client(env.opaqueSvc),
      await oauth.introspectionRequest(as, client(env.opaqueSvc), auth(env.opaqueSvc), opaque.access_token,
        insecure));
    assert.equal(introspected.active, true);
    assert.equal(introspected.client_id, env.opaqueSvc.client_id);
    assert.deepEqual(introspected.authorization_details, asked);
    const plainOpaque = await clientCredentials(env.opaqueSvc);
    const introspectedPlain = await oauth.processIntrospectionResponse(as, client(env.opaqueSvc),
      await oauth.introspectionRequest(as, client(env.opaqueSvc), auth(env.opaqueSvc), plainOpaque.access_token,
        insecure));
    assert.equal(introspectedPlain.active, true);
    assert.equal(introspectedPlain.authorization_details, undefined);

    // Checked as at /authorize: the schema, and the types a client registered with
    // --authorization-details-type may use (§10.2).
    await assert.rejects(clientCredentials(env.svc, [{ ...PAYMENT, instructedAmount: POUNDS }]),
      (e) => refusedDetails(e) && /\/instructedAmount\/currency/.test(e.error_description));
    const payment = await clientCredentials(env.payer, [PAYMENT]);
    assert.deepEqual(payment.authorization_details, [PAYMENT]);
    await assert.rejects(clientCredentials(env.payer, [ACCOUNTS]),
      (e) => refusedDetails(e) && /account_information/.test(e.error_description));
  });
});
