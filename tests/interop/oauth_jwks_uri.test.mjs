// A private_key_jwt client whose keys are registered by reference (RFC 7591 §2 jwks_uri), at a
// `tessera serve` of the as role: the client's JWKS is served by this test over HTTP on
// 127.0.0.1 (`tessera client create --jwks-uri`; an operator may name a loopback URL, a dynamic
// registration may not), and the client authenticates its client-credentials requests with
// oauth4webapi 3 (strict) and its PrivateKeyJwt. Checked: the token is issued; the set is fetched
// once and kept; an assertion by a key that is not the client's is invalid_client (RFC 6749 §5.2),
// and a burst of made-up kids does not turn into a burst of fetches. The only relaxation is
// allowInsecureRequests: plain http on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import * as oauth from 'oauth4webapi';
import { BIN } from '../lib/tessera.mjs';
import { accessTokenClaims, insecure, jwksPublisher, startInteropServe } from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

// The client's key pair, its JWKS served by this test; and a pair of no one's.
const client = await jwksPublisher('rp-1');

describe('tessera serve with a private_key_jwt client registered by jwks_uri', () => {
  let as;
  const env = startInteropServe('tessera-jwks-uri-', {
    clients: () => ({
      rp: ['--id', 'rp-by-uri', '--type', 'confidential', '--auth-method', 'private_key_jwt',
        '--jwks-uri', client.jwksUri(), '--grant-type', 'client_credentials',
        '--scope', 'invoices:read', '--audience', 'https://api.example'],
    }),
  }, (serve) => {
    as = serve.as;
  });

  const request = (key, kid) => oauth.clientCredentialsGrantRequest(as, { client_id: 'rp-by-uri' },
    oauth.PrivateKeyJwt({ key, kid }), { scope: 'invoices:read' }, insecure);

  test('oauth4webapi: the client authenticates with the key its jwks_uri publishes; the set is fetched once', async () => {
    for (let i = 0; i < 2; i += 1) {
      const response = await request(client.keys.privateKey, 'rp-1');
      const result = await oauth.processClientCredentialsResponse(as, { client_id: 'rp-by-uri' }, response);
      const claims = await accessTokenClaims(as, result.access_token);
      assert.equal(claims.client_id, 'rp-by-uri');
      assert.equal(claims.aud, 'https://api.example');
    }
    assert.equal(client.requests, 1, 'the JWKS was fetched once and kept');
  });

  test('a key that is not the client\'s is invalid_client; made-up kids do not flood the client with fetches', async () => {
    const before = client.requests;
    for (const kid of ['rp-1', 'made-up-1', 'made-up-2', 'made-up-3', 'made-up-4']) {
      const response = await request(client.rogue.privateKey, kid);
      assert.equal(response.status, 401, `${kid}: ${await response.clone().text()}`);
      assert.equal((await response.json()).error, 'invalid_client');
    }
    // At most one fetch for the unknown kids (none within 30 s of the last).
    assert.ok(client.requests - before <= 1, `${client.requests - before} fetches`);
  });
});
