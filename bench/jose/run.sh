#!/usr/bin/env bash
# Per-core JWS throughput of Tessera next to OpenSSL's own figures for the same
# primitives, measured in the same run on the same core:
#   operation  tessera_ops/s  openssl_ops/s  ratio   (target: ratio >= 0.85)
# OpenSSL's numbers are raw sign/verify on a digest; Tessera's include the JOSE
# framing (base64url, header JSON, checks) and hashing a ~300-byte JWT.
# BUILD_DIR names the build tree holding bench/jose/bench_jose (default <repo>/build).
# Exits 1 if any ratio is under the target, 2 if a run fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
build="${BUILD_DIR:-${repo}/build}"
bench="${build}/bench/jose/bench_jose"
target="0.85"
[[ -x "${bench}" ]] || { echo "run.sh: ${bench} not built (set BUILD_DIR)" >&2; exit 2; }

source "${here}/../lib/against_openssl.sh"
against_openssl_run "${bench}"

printf '%-14s %14s %14s %7s\n' operation tessera_ops/s openssl_ops/s ratio
below=0
row() {
  local op="$1" bench_name="$2" pattern="$3" column="$4"
  local t o
  t="$(tessera_rate "${bench_name}")"
  o="$(openssl_rate "${pattern}" "${column}")"
  if [[ -z "${t}" || -z "${o}" ]]; then
    printf '%-14s %14s %14s %7s\n' "${op}" "${t:-?}" "${o:-?}" "?"
    below=1
    return
  fi
  local ratio
  ratio="$(awk -v t="${t}" -v o="${o}" 'BEGIN { printf "%.2f", t / o }')"
  printf '%-14s %14s %14s %7s\n' "${op}" "${t}" "${o}" "${ratio}"
  if awk -v r="${ratio}" -v min="${target}" 'BEGIN { exit !(r < min) }'; then below=1; fi
}
row "RS256 verify" "BM_Verify/RS256" "^rsa 2048 bits" verify
row "ES256 verify" "BM_Verify/ES256" "ecdsa \\(nistp256\\)" verify
row "EdDSA verify" "BM_Verify/EdDSA" "EdDSA \\(Ed25519\\)" verify
row "RS256 sign" "BM_Sign/RS256" "^rsa 2048 bits" sign
row "ES256 sign" "BM_Sign/ES256" "ecdsa \\(nistp256\\)" sign
row "EdDSA sign" "BM_Sign/EdDSA" "EdDSA \\(Ed25519\\)" sign
if [[ ${below} -ne 0 ]]; then
  echo "some ratio is below ${target} (or missing)" >&2
  exit 1
fi
