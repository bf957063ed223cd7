// What the interop tests add to tests/lib/demo.mjs: the demo's metadata as oauth4webapi reads it
// (RFC 8414, OpenID Discovery 1.0 §4) and openid-client configurations for its clients. The only
// relaxation is allowInsecureRequests: the demo speaks plain http on 127.0.0.1.
import * as oauth from 'oauth4webapi';
import * as client from 'openid-client';
import { startDemo } from './demo.mjs';

// oauth4webapi's option for plain http.
export const insecure = { [oauth.allowInsecureRequests]: true };

// startDemo(prefix, setup) that also sets `as` before `setup` runs: the server metadata,
// discovered and validated by oauth4webapi.
export function startInteropDemo(prefix, setup) {
  return startDemo(prefix, async (demo) => {
    const issuer = new URL(demo.ready.issuer);
    demo.as = await oauth.processDiscoveryResponse(
      issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oidc', ...insecure }));
    await setup(demo);
  });
}

// openid-client's configuration for `c` (a client of the readiness line or of `tessera client
// create --json`): no authentication for a public client, client_secret_basic otherwise.
export function openidConfig(demo, c) {
  const auth = c.client_secret ? client.ClientSecretBasic(c.client_secret) : client.None();
  return client.discovery(new URL(demo.ready.issuer), c.client_id, c.client_secret, auth,
    { execute: [client.allowInsecureRequests] });
}
