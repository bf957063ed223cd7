#!/usr/bin/env bash
# Uncached access-token validation in the resource-server SDK next to OpenSSL's raw verify, on
# the same core in the same run (issue 4: RS256 at least 0.85 of `openssl speed` rsa2048 verify):
#   RS256 uncached validation: N/s, openssl verify M/s, ratio R (target >= 0.85) PASS|FAIL
# Tessera's figure is Validator::validate() of a ~780-byte RFC 9068 token, JWKS cached: base64url,
# header and claims JSON, the claim checks and the Principal on top of the hash and verify.
# ES256 and EdDSA are printed for context; only RS256 decides the exit status.
# BUILD_DIR names the build tree holding bench/resource/validator_bench (default <repo>/build).
# Exits 1 if the RS256 ratio is under the target, 2 if a run fails.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "${here}/../.." && pwd)"
build="${BUILD_DIR:-${repo}/build}"
bench="${build}/bench/resource/validator_bench"
target="0.85"
[[ -x "${bench}" ]] || { echo "run.sh: ${bench} not built (set BUILD_DIR)" >&2; exit 2; }

source "${here}/../lib/against_openssl.sh"
against_openssl_run "${bench}"

# Per-round figures on stderr, for judging the spread.
for ((r = 1; r <= rounds; r++)); do
  awk -F, -v r="${r}" '$1 ~ /^"BM_UncachedValidation/ { printf "round %d: %s %.0f/s\n", r, $1, $7 }' \
    "${work}/tessera.${r}.csv" >&2
  awk -v r="${r}" '
    /^rsa 2048 bits/ { printf "round %d: openssl rsa2048 verify %s/s\n", r, $NF }
    /ecdsa \(nistp256\)/ { printf "round %d: openssl ecdsap256 verify %s/s\n", r, $NF }
    /EdDSA \(Ed25519\)/ { printf "round %d: openssl ed25519 verify %s/s\n", r, $NF }' \
    "${work}/openssl.${r}.txt" >&2
done

status=0
row() {
  local alg="$1" pattern="$2" gates="$3"
  local t o
  t="$(tessera_rate "BM_UncachedValidation/${alg}")"
  o="$(openssl_rate "${pattern}")"
  if [[ -z "${t}" || -z "${o}" ]]; then
    echo "${alg} uncached validation: ${t:-?}/s, openssl verify ${o:-?}/s: a run failed" >&2
    grep -h "${alg}" "${work}"/tessera.*.csv >&2 || true
    status=2
    return
  fi
  local ratio verdict=PASS
  ratio="$(awk -v t="${t}" -v o="${o}" 'BEGIN { printf "%.2f", t / o }')"
  if awk -v t="${t}" -v o="${o}" -v min="${target}" 'BEGIN { exit !(t / o < min) }'; then
    verdict=FAIL
    if [[ "${gates}" == yes && ${status} -eq 0 ]]; then status=1; fi
  fi
  echo "${alg} uncached validation: ${t}/s, openssl verify ${o}/s, ratio ${ratio}" \
    "(target >= ${target}) ${verdict}"
}
row RS256 "^rsa 2048 bits" yes
row ES256 "ecdsa \\(nistp256\\)" no
row EdDSA "EdDSA \\(Ed25519\\)" no
exit "${status}"
