// The device authorization grant (RFC 8628) at a `tessera serve` of the as role with real,
// unmodified client libraries: oauth4webapi 3 (strict) and openid-client 6. The device side
// (device authorization request, polling with authorization_pending, slow_down, the tokens once)
// runs in the library; the user's side walks the server's pages over HTTP from
// verification_uri_complete: the code page, sign-in and consent (allowed, or denied: the device
// hears access_denied). Polls respect the server's 5-second interval, so this file takes about
// twenty seconds. The only relaxation is allowInsecureRequests: plain http on 127.0.0.1.
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { BIN } from '../lib/tessera.mjs';
import { CookieJar, signIn } from '../lib/login.mjs';
import {
  clientAuth, insecure, openidConfig, refusedWith, startInteropServe,
} from '../lib/interop.mjs';

assert.ok(BIN, 'TESSERA_BIN must point to the tessera binary');

const DEVICE_CODE = 'urn:ietf:params:oauth:grant-type:device_code';

describe('tessera serve: the device authorization grant', () => {
  let as;
  const env = startInteropServe('tessera-device-', {
    clients: () => ({
      tv: ['--id', 'device-tv', '--type', 'public', '--grant-type', DEVICE_CODE,
        '--grant-type', 'refresh_token', '--scope', 'openid profile'],
      box: ['--id', 'device-box', '--type', 'confidential', '--grant-type', DEVICE_CODE,
        '--scope', 'openid'],
      web: ['--id', 'device-web', '--redirect-uri', 'https://app.example/cb', '--scope', 'openid'],
    }),
    user: 'erin',
  }, (serve) => {
    as = serve.as;
  });

  const cc = (c) => ({ client_id: c.client_id });
  const start = async (c, params = {}) => oauth.processDeviceAuthorizationResponse(as, cc(c),
    await oauth.deviceAuthorizationRequest(as, cc(c), clientAuth(c), params, insecure));
  const poll = async (c, device) => oauth.processDeviceCodeResponse(as, cc(c),
    await oauth.deviceCodeGrantRequest(as, cc(c), clientAuth(c), device.device_code, insecure));

  test('discovery: device_authorization_endpoint and the grant type (RFC 8628 §4)', () => {
    assert.equal(as.device_authorization_endpoint, `${as.issuer}/device_authorization`);
    assert.ok(as.grant_types_supported.includes(DEVICE_CODE), as.grant_types_supported.join(' '));
  });

  test('oauth4webapi: pending, slow_down, the user allows on the pages, the tokens once; a denial is access_denied', async () => {
    const device = await start(env.tv, { scope: 'openid profile' });
    assert.match(device.user_code, /^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$/);
    assert.equal(device.verification_uri, `${as.issuer}/device`);
    assert.equal(device.verification_uri_complete, `${device.verification_uri}?user_code=${device.user_code}`);
    assert.equal(device.expires_in, 600);
    assert.equal(device.interval, 5);
    const denied = await start(env.box);

    // §3.5: nobody has decided; polling again at once is slow_down.
    await assert.rejects(poll(env.tv, device), refusedWith('authorization_pending'));
    await assert.rejects(poll(env.tv, device), refusedWith('slow_down'));

    // The user: the code page (prefilled), sign-in, consent. Denied for the box.
    const jar = new CookieJar();
    const r = await signIn(device.verification_uri_complete, env.user, { jar });
    assert.deepEqual(r.pages, ['device', 'login', 'consent']);
    assert.equal(r.page.status, 200);
    assert.match(r.page.text, /Device connected/);
    const d = await signIn(denied.verification_uri, env.user,
      { jar, decision: 'deny', userCode: denied.user_code.toLowerCase().replace('-', '') });
    assert.deepEqual(d.pages, ['device', 'consent'], 'signed in already; consent is asked anyway');
    assert.match(d.page.text, /Access denied/);

    await sleep(10_500);  // the interval after one slow_down
    const result = await poll(env.tv, device);
    assert.equal(result.token_type, 'bearer');
    assert.equal(result.scope, 'openid profile');
    assert.ok(result.refresh_token);
    const claims = oauth.getValidatedIdTokenClaims(result);
    assert.equal(claims.aud, env.tv.client_id);
    await assert.rejects(poll(env.box, denied), refusedWith('access_denied'));
    await sleep(10_500);
    await assert.rejects(poll(env.tv, device), refusedWith('invalid_grant'));

    // The refresh token works like any other.
    const refreshed = await oauth.processRefreshTokenResponse(as, cc(env.tv),
      await oauth.refreshTokenGrantRequest(as, cc(env.tv), oauth.None(), result.refresh_token, insecure));
    assert.ok(refreshed.access_token);
  });

  test('openid-client: initiateDeviceAuthorization, the user allows, pollDeviceAuthorizationGrant gets the tokens', async () => {
    const config = await openidConfig({ ready: { issuer: env.issuer } }, env.tv);
    const device = await client.initiateDeviceAuthorization(config, { scope: 'openid' });
    const r = await signIn(device.verification_uri_complete, env.user, { jar: new CookieJar() });
    assert.match(r.page.text, /Device connected/);
    const tokens = await client.pollDeviceAuthorizationGrant(config, device);
    assert.ok(tokens.access_token);
    assert.equal(tokens.claims().aud, env.tv.client_id);
  });

  test('a client not registered for the grant: unauthorized_client; an unknown user code: the page says so', async () => {
    await assert.rejects(start(env.web), refusedWith('unauthorized_client'));
    const r = await signIn(`${as.issuer}/device`, env.user, { jar: new CookieJar(), userCode: 'BCDF-GHJK' });
    assert.equal(r.page.status, 400);
    assert.match(r.page.text, /not valid/);
  });
});
