// The `tessera jose` command-line contract (DESIGN.md): keygen, public,
// thumbprint, sign, verify (exit 0 + payload, or exit 1 + reason on stderr)
// and decode (clearly unverified). Runs the built binary named by TESSERA_BIN.
import { test, describe, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';
import { ALGS, BIN, ok, scratchDir, tessera } from '../lib/tessera.mjs';

before(() => assert.ok(BIN, 'TESSERA_BIN must name the tessera binary'));
const scratch = scratchDir('tessera-jose-cli-');
const writeTemp = scratch.write;

const b64u = (s) => Buffer.from(s).toString('base64url');

function keygen(alg) {
  const out = ok(['jose', 'keygen', '--alg', alg]);
  return { jwk: JSON.parse(out), text: out };
}

function verify(token, keyFile, extra = []) {
  return tessera(['jose', 'verify', '--key', keyFile, ...extra], token);
}

const CLAIMS = JSON.stringify({ iss: 'https://as.example', sub: 'alice', aud: 'invoices',
  exp: 4102444800, iat: 1700000000, scope: 'invoices:read' });

describe('jose keygen', () => {
  test('prints one line of JSON: a private JWK with a kid and the alg', () => {
    const out = ok(['jose', 'keygen', '--alg', 'ES256']);
    assert.equal(out.trimEnd().split('\n').length, 1);
    const jwk = JSON.parse(out);
    assert.equal(jwk.kty, 'EC');
    assert.equal(jwk.crv, 'P-256');
    assert.equal(jwk.alg, 'ES256');
    assert.ok(jwk.d, 'private part present');
    assert.ok(typeof jwk.kid === 'string' && jwk.kid.length >= 8);
  });

  test('gives every key a different random kid', () => {
    const a = keygen('EdDSA').jwk;
    const b = keygen('EdDSA').jwk;
    assert.notEqual(a.kid, b.kid);
    assert.notEqual(a.d, b.d);
  });

  test('makes keys of the type each alg needs', () => {
    const expect = { HS256: 'oct', RS256: 'RSA', PS512: 'RSA', ES384: 'EC', ES512: 'EC', EdDSA: 'OKP' };
    for (const [alg, kty] of Object.entries(expect)) {
      const jwk = keygen(alg).jwk;
      assert.equal(jwk.kty, kty, alg);
      assert.equal(jwk.alg, alg);
    }
    assert.equal(keygen('ES512').jwk.crv, 'P-521');
    assert.equal(keygen('EdDSA').jwk.crv, 'Ed25519');
    assert.ok(Buffer.from(keygen('RS256').jwk.n, 'base64url').length >= 256, 'RSA >= 2048 bits');
    assert.ok(Buffer.from(keygen('HS512').jwk.k, 'base64url').length >= 64, 'HS512 key >= 64 bytes');
  });

  test('refuses alg none and unknown algs with a message', () => {
    for (const alg of ['none', 'HS1', 'es256']) {
      const r = tessera(['jose', 'keygen', '--alg', alg]);
      assert.notEqual(r.status, 0, alg);
      assert.match(r.stderr, /alg/i);
      assert.equal(r.stdout, '');
    }
  });
});

describe('jose sign | verify round trip', () => {
  for (const alg of ALGS) {
    test(`${alg}: verifies with the private JWK, the public JWK and a JWKS`, () => {
      const { jwk, text } = keygen(alg);
      const privFile = writeTemp(text);
      const token = ok(['jose', 'sign', '--key', privFile], CLAIMS).trim();
      assert.match(token, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);

      const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url'));
      assert.equal(header.alg, alg);
      assert.equal(header.kid, jwk.kid);

      // An HMAC secret is its own verification key: there is no public half.
      const pub = alg.startsWith('HS') ? jwk : JSON.parse(ok(['jose', 'public', '--key', privFile]));
      assert.equal(pub.d, undefined, 'public JWK has no private part');
      assert.equal(pub.p, undefined);
      const pubFile = writeTemp(pub);
      const setFile = writeTemp({ keys: [keygen(alg).jwk, pub] });

      for (const keyFile of [privFile, pubFile, setFile]) {
        const r = verify(token + '\n', keyFile);
        assert.equal(r.status, 0, `${alg}: ${r.stderr}`);
        assert.equal(r.stdout, CLAIMS, 'payload printed exactly as signed');
      }
      assert.equal(verify(token, pubFile, ['--alg', alg]).status, 0);
    });
  }

  test('sign --typ sets the header typ', () => {
    const keyFile = writeTemp(keygen('ES256').text);
    const token = ok(['jose', 'sign', '--key', keyFile, '--typ', 'at+jwt'], CLAIMS).trim();
    const header = JSON.parse(Buffer.from(token.split('.')[0], 'base64url'));
    assert.equal(header.typ, 'at+jwt');
  });

  test('sign --alg picks the alg for a key without one', () => {
    const jwk = keygen('RS256').jwk;
    delete jwk.alg;
    const keyFile = writeTemp(jwk);
    const token = ok(['jose', 'sign', '--key', keyFile, '--alg', 'PS384'], 'x').trim();
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url')).alg, 'PS384');
    assert.equal(verify(token, keyFile).stdout, 'x');
  });

  test('PEM keys work: a PKCS#8 private key signs, its SPKI public key verifies', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const privFile = writeTemp(privateKey.export({ type: 'pkcs8', format: 'pem' }));
    const pubFile = writeTemp(publicKey.export({ type: 'spki', format: 'pem' }));
    const token = ok(['jose', 'sign', '--key', privFile, '--alg', 'ES256'], CLAIMS);
    const r = verify(token, pubFile, ['--alg', 'ES256']);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, CLAIMS);
    assert.equal(verify(token, pubFile, ['--alg', 'ES384']).status, 1);
  });

  test('non-JSON payload bytes round-trip unchanged', () => {
    const keyFile = writeTemp(keygen('EdDSA').text);
    const payload = 'line one\nline two\n';
    const token = ok(['jose', 'sign', '--key', keyFile], payload);
    const r = verify(token, keyFile);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, payload);
  });
});

describe('jose verify rejects', () => {
  let keyFile;
  let token;
  before(() => {
    keyFile = writeTemp(keygen('ES256').text);
    token = ok(['jose', 'sign', '--key', keyFile], CLAIMS).trim();
  });

  function rejected(r, reason) {
    assert.equal(r.status, 1, `expected exit 1, got ${r.status}: ${r.stderr}`);
    assert.equal(r.stdout, '', 'no payload is printed for a rejected token');
    assert.match(r.stderr, reason);
  }

  test('a token whose payload was tampered with', () => {
    const [h, , s] = token.split('.');
    const forged = `${h}.${b64u(CLAIMS.replace('alice', 'mallory'))}.${s}`;
    rejected(verify(forged, keyFile), /signature/i);
  });

  test('a token whose signature was tampered with', () => {
    const [h, p, s] = token.split('.');
    const sig = Buffer.from(s, 'base64url');
    sig[10] ^= 1;
    rejected(verify(`${h}.${p}.${sig.toString('base64url')}`, keyFile), /signature/i);
  });

  test('a token signed by another key of the same type', () => {
    const other = keygen('ES256').jwk;
    // Another kid: no key matches.
    rejected(verify(token, writeTemp(other)), /kid|key/i);
    // The same kid on another key: the signature does not verify.
    const signer = JSON.parse(Buffer.from(token.split('.')[0], 'base64url'));
    rejected(verify(token, writeTemp({ ...other, kid: signer.kid })), /signature/i);
  });

  test('alg none, whatever the key', () => {
    const unsecured = `${b64u('{"alg":"none"}')}.${b64u(CLAIMS)}.`;
    rejected(verify(unsecured, keyFile), /none/i);
    const hsFile = writeTemp(keygen('HS256').text);
    rejected(verify(unsecured, hsFile), /none/i);
  });

  test('a token whose alg is not the one given with --alg', () => {
    const rsFile = writeTemp(keygen('RS256').text);
    const rsToken = ok(['jose', 'sign', '--key', rsFile], CLAIMS).trim();
    assert.equal(verify(rsToken, rsFile, ['--alg', 'RS256']).status, 0);
    rejected(verify(rsToken, rsFile, ['--alg', 'PS256']), /alg/i);
    rejected(verify(token, keyFile, ['--alg', 'ES384']), /alg/i);
  });

  test('an HS256 token forged with an RSA public key as the HMAC secret', () => {
    const rsFile = writeTemp(keygen('RS256').text);
    const pub = ok(['jose', 'public', '--key', rsFile]);
    const h = b64u('{"alg":"HS256"}');
    const p = b64u(CLAIMS);
    const forged = `${h}.${p}.${b64u('x'.repeat(32))}`;
    rejected(verify(forged, writeTemp(pub)), /alg|key/i);
  });

  test('garbage that is not a compact JWS', () => {
    for (const input of ['', 'abc', 'a.b', '....', `${token}.${token}`]) {
      const r = verify(input, keyFile);
      assert.equal(r.status, 1, `input ${JSON.stringify(input)}: ${r.stderr}`);
      assert.notEqual(r.stderr.trim(), '');
    }
  });
});

describe('jose decode', () => {
  test('prints header and claims marked unverified', () => {
    const keyFile = writeTemp(keygen('EdDSA').text);
    const token = ok(['jose', 'sign', '--key', keyFile, '--typ', 'JWT'], CLAIMS);
    const out = JSON.parse(ok(['jose', 'decode'], token));
    assert.equal(out.verified, false);
    assert.match(out.warning, /unverified/i);
    assert.equal(out.header.alg, 'EdDSA');
    assert.equal(out.header.typ, 'JWT');
    assert.deepEqual(out.claims, JSON.parse(CLAIMS));
    assert.equal(out.payload, undefined);
  });

  test('decodes a token whose signature is wrong, still marked unverified', () => {
    const token = `${b64u('{"alg":"ES256","kid":"k1"}')}.${b64u('{"sub":"x"}')}.${b64u('not a sig')}`;
    const out = JSON.parse(ok(['jose', 'decode'], token));
    assert.equal(out.verified, false);
    assert.equal(out.header.kid, 'k1');
    assert.deepEqual(out.claims, { sub: 'x' });
  });

  test('shows a non-JSON payload as a string', () => {
    const token = `${b64u('{"alg":"HS256"}')}.${b64u('hello')}.${b64u('sig')}`;
    const out = JSON.parse(ok(['jose', 'decode'], token));
    assert.equal(out.payload, 'hello');
    assert.equal(out.claims, undefined);
  });

  test('fails with a message on input that is not a JWS', () => {
    const r = tessera(['jose', 'decode'], 'not-a-token');
    assert.notEqual(r.status, 0);
    assert.notEqual(r.stderr.trim(), '');
  });
});

describe('jose public', () => {
  test('prints the public JWK without any private member', () => {
    for (const alg of ['RS256', 'ES384', 'EdDSA']) {
      const { jwk, text } = keygen(alg);
      const pub = JSON.parse(ok(['jose', 'public', '--key', writeTemp(text)]));
      assert.equal(pub.kid, jwk.kid);
      assert.equal(pub.alg, alg);
      for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) assert.equal(pub[m], undefined, m);
    }
  });

  test('refuses an HMAC key, whose secret is the only key there is', () => {
    const r = tessera(['jose', 'public', '--key', writeTemp(keygen('HS256').text)]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /symmetric|secret/i);
  });

  test('prints a JWKS without the HMAC keys of a mixed set', () => {
    const set = { keys: [keygen('HS256').jwk, keygen('ES256').jwk, keygen('EdDSA').jwk] };
    const out = JSON.parse(ok(['jose', 'public', '--key', writeTemp(set)]));
    assert.deepEqual(out.keys.map((k) => k.kty), ['EC', 'OKP']);
    assert.ok(out.keys.every((k) => k.d === undefined));
  });
});

describe('jose thumbprint', () => {
  test('is the same for a private key and its public half, and differs between keys', () => {
    const privFile = writeTemp(keygen('RS256').text);
    const pubFile = writeTemp(ok(['jose', 'public', '--key', privFile]));
    const a = ok(['jose', 'thumbprint', '--key', privFile]).trim();
    assert.match(a, /^[A-Za-z0-9_-]{43}$/);
    assert.equal(ok(['jose', 'thumbprint', '--key', pubFile]).trim(), a);
    const other = writeTemp(keygen('RS256').text);
    assert.notEqual(ok(['jose', 'thumbprint', '--key', other]).trim(), a);
  });

  test('matches the RFC 7638 §3.1 example', () => {
    const jwk = {
      kty: 'RSA',
      n: '0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw',
      e: 'AQAB', alg: 'RS256', kid: '2011-04-29',
    };
    const out = ok(['jose', 'thumbprint', '--key', writeTemp(jwk)]).trim();
    assert.equal(out, 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs');
  });
});

describe('jose commands fail cleanly on bad input', () => {
  function fails(args, input, message) {
    const r = tessera(args, input);
    assert.notEqual(r.status, 0, `tessera ${args.join(' ')} should fail`);
    assert.notEqual(r.status, null);
    assert.match(r.stderr, message);
    return r;
  }

  test('an unreadable key file', () => {
    const missing = join(scratch.path, 'does-not-exist.json');
    for (const cmd of ['sign', 'verify', 'public', 'thumbprint']) {
      fails(['jose', cmd, '--key', missing], 'x', /does-not-exist\.json/);
    }
  });

  test('a key file that is not a key', () => {
    for (const content of ['not json', '{}', '{"kty":"RSA","n":"AQAB","e":"AQAB"}',
      '{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}', '{"keys":"x"}', '[]',
      '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n']) {
      const keyFile = writeTemp(content);
      fails(['jose', 'verify', '--key', keyFile], 'a.b.c', /key|pem/i);
      fails(['jose', 'sign', '--key', keyFile], 'x', /key|pem/i);
    }
  });

  test('signing with a public key', () => {
    const pub = ok(['jose', 'public', '--key', writeTemp(keygen('ES256').text)]);
    fails(['jose', 'sign', '--key', writeTemp(pub)], 'x', /private/i);
  });

  test('signing with an alg the key cannot do', () => {
    const keyFile = writeTemp(keygen('ES256').text);
    fails(['jose', 'sign', '--key', keyFile, '--alg', 'RS256'], 'x', /alg|key/i);
    fails(['jose', 'sign', '--key', keyFile, '--alg', 'none'], 'x', /alg/i);
  });

  test('a missing --key', () => {
    fails(['jose', 'verify'], 'a.b.c', /key/i);
  });
});
