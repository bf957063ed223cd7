// Interop with `jose` from npm, both ways, for every JWS algorithm Tessera
// implements: what Tessera signs jose verifies, what jose signs Tessera
// verifies, and keys made by either side work on the other (RFC 7638
// thumbprints agree). Drives the built binary named by TESSERA_BIN.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, KeyObject } from 'node:crypto';
import * as jose from 'jose';
import { ALGS, BIN, ok, scratchDir, tessera } from '../lib/tessera.mjs';

const isHmac = (alg) => alg.startsWith('HS');

before(() => assert.ok(BIN, 'TESSERA_BIN must name the tessera binary'));
const scratch = scratchDir('tessera-jose-interop-');
const writeTemp = scratch.write;

const claims = () => ({
  iss: 'https://as.example', sub: 'alice', aud: 'invoices', scope: 'invoices:read',
  iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 600,
  jti: crypto.randomUUID(),
});

// A key pair made by jose, exported as JWKs (oct: the secret is both halves).
async function joseKey(alg) {
  if (isHmac(alg)) {
    const secret = await jose.generateSecret(alg, { extractable: true });
    const jwk = await jose.exportJWK(secret);
    return { signKey: secret, verifyKey: secret, privateJwk: jwk, publicJwk: jwk };
  }
  const opts = { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) };
  const { privateKey, publicKey } = await jose.generateKeyPair(alg, opts);
  return {
    signKey: privateKey,
    verifyKey: publicKey,
    privateJwk: await jose.exportJWK(privateKey),
    publicJwk: await jose.exportJWK(publicKey),
  };
}

// A key made by Tessera: its private JWK and the public JWK it prints.
function tesseraKey(alg) {
  const privateText = ok(['jose', 'keygen', '--alg', alg]);
  const privateFile = writeTemp(privateText);
  const privateJwk = JSON.parse(privateText);
  // An HMAC secret has no public half (`tessera jose public` refuses it).
  const publicJwk = isHmac(alg) ? privateJwk
    : JSON.parse(ok(['jose', 'public', '--key', privateFile]));
  return { privateFile, privateJwk, publicJwk };
}

for (const alg of ALGS) {
  describe(`${alg} interop with jose`, () => {
    test('a JWT Tessera signs verifies with jose', async () => {
      const key = tesseraKey(alg);
      const want = claims();
      const token = ok(['jose', 'sign', '--key', key.privateFile, '--typ', 'JWT'],
        JSON.stringify(want)).trim();

      const verifyKey = await jose.importJWK(key.publicJwk, alg);
      const { payload, protectedHeader } = await jose.jwtVerify(token, verifyKey, {
        algorithms: [alg], issuer: want.iss, audience: want.aud, typ: 'JWT',
      });
      assert.deepEqual(payload, want);
      assert.equal(protectedHeader.alg, alg);
      assert.equal(protectedHeader.kid, key.privateJwk.kid);
    });

    test('a tampered Tessera token is rejected by jose (the check can fail)', async () => {
      const key = tesseraKey(alg);
      const token = ok(['jose', 'sign', '--key', key.privateFile], '{"sub":"alice"}').trim();
      const [h, , s] = token.split('.');
      const forged = `${h}.${Buffer.from('{"sub":"mallory"}').toString('base64url')}.${s}`;
      const verifyKey = await jose.importJWK(key.publicJwk, alg);
      await assert.rejects(jose.compactVerify(forged, verifyKey, { algorithms: [alg] }),
        jose.errors.JWSSignatureVerificationFailed);
    });

    test('a JWT jose signs verifies with Tessera', async () => {
      const key = await joseKey(alg);
      const want = claims();
      const token = await new jose.SignJWT(want)
        .setProtectedHeader({ alg, typ: 'JWT', kid: 'jose-key' })
        .sign(key.signKey);
      const keyFile = writeTemp({ ...key.publicJwk, kid: 'jose-key' });

      for (const extra of [[], ['--alg', alg]]) {
        const r = tessera(['jose', 'verify', '--key', keyFile, ...extra], token);
        assert.equal(r.status, 0, `${alg} ${extra.join(' ')}: ${r.stderr}`);
        assert.deepEqual(JSON.parse(r.stdout), want);
      }
    });

    test('a compact JWS jose signs over raw bytes verifies with Tessera byte for byte',
      async () => {
        const key = await joseKey(alg);
        const payload = 'not JSON: \u00e9\u6f22 \n tail';
        const token = await new jose.CompactSign(new TextEncoder().encode(payload))
          .setProtectedHeader({ alg })
          .sign(key.signKey);
        const r = tessera(['jose', 'verify', '--key', writeTemp(key.publicJwk)], `${token}\n`);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(r.stdout, payload);
      });

    test('a jose token signed by another key is rejected by Tessera', async () => {
      const signer = await joseKey(alg);
      const other = await joseKey(alg);
      const token = await new jose.CompactSign(new TextEncoder().encode('{"sub":"alice"}'))
        .setProtectedHeader({ alg })
        .sign(signer.signKey);
      const r = tessera(['jose', 'verify', '--key', writeTemp(other.publicJwk)], token);
      assert.equal(r.status, 1, r.stderr);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /signature/i);
    });

    test('a private key jose generated signs in Tessera; jose verifies', async () => {
      const key = await joseKey(alg);
      const keyFile = writeTemp(key.privateJwk);  // jose exports no "alg": pass --alg
      const token = ok(['jose', 'sign', '--key', keyFile, '--alg', alg], '{"sub":"bob"}').trim();
      const { payload } = await jose.compactVerify(token, key.verifyKey, { algorithms: [alg] });
      assert.equal(new TextDecoder().decode(payload), '{"sub":"bob"}');
    });

    test('a key Tessera generated signs in jose; Tessera verifies', async () => {
      const key = tesseraKey(alg);
      const signKey = await jose.importJWK(key.privateJwk, alg);
      const token = await new jose.CompactSign(new TextEncoder().encode('{"sub":"carol"}'))
        .setProtectedHeader({ alg, kid: key.privateJwk.kid })
        .sign(signKey);
      assert.equal(ok(['jose', 'verify', '--key', key.privateFile], token), '{"sub":"carol"}');
    });

    test('RFC 7638 thumbprints agree for keys from either side', async () => {
      const fromJose = await joseKey(alg);
      for (const jwk of [fromJose.privateJwk, fromJose.publicJwk]) {
        const mine = ok(['jose', 'thumbprint', '--key', writeTemp(jwk)]).trim();
        assert.equal(mine, await jose.calculateJwkThumbprint(jwk, 'sha256'));
      }
      const fromTessera = tesseraKey(alg);
      const mine = ok(['jose', 'thumbprint', '--key', fromTessera.privateFile]).trim();
      assert.equal(mine, await jose.calculateJwkThumbprint(fromTessera.privateJwk, 'sha256'));
      assert.equal(mine, await jose.calculateJwkThumbprint(fromTessera.publicJwk, 'sha256'));
    });

    test('the public JWK Tessera prints is the public half jose derives', async () => {
      const key = tesseraKey(alg);
      if (isHmac(alg)) {
        assert.equal(key.publicJwk.k, key.privateJwk.k);
        return;
      }
      const priv = await jose.importJWK(key.privateJwk, alg, { extractable: true });
      // Node derives the public key from the private one.
      const privObject = priv instanceof KeyObject ? priv : KeyObject.from(priv);
      const derived = createPublicKey(privObject).export({ format: 'jwk' });
      for (const member of Object.keys(derived)) {
        assert.equal(key.publicJwk[member], derived[member], member);
      }
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) {
        assert.equal(key.publicJwk[member], undefined, member);
      }
    });
  });
}
