#!/usr/bin/env bash
# pki.sh - create a development PKI for minisoc with the openssl command line.
#
# Usage: deploy/pki.sh DIR [AGENT_NAME ...]
#
# See usage() below. Existing files are kept: running it again only adds
# what is missing, so it is safe in scripts and tests.
set -euo pipefail

PROG=${0##*/}

usage() {
  cat <<EOF
Usage: $PROG DIR [AGENT_NAME ...]

Create a development PKI for minisoc in DIR (created if needed):

  ca.key, ca.crt               dev CA, ECDSA P-256, 10 years
                               (basicConstraints CA:TRUE, keyUsage keyCertSign,cRLSign)
  collector.key, collector.crt server certificate, CN=collector.minisoc.local,
                               SAN DNS:collector.minisoc.local, DNS:localhost,
                               IP:127.0.0.1, extendedKeyUsage serverAuth
  agent-NAME.key, agent-NAME.crt
                               one client certificate per AGENT_NAME, CN=NAME,
                               extendedKeyUsage clientAuth

Files that already exist are kept; a leaf certificate that no longer
verifies against ca.crt (new CA, expired) is issued again with its key.
New private keys are written with mode 0600; existing files keep their
owner and mode.

AGENT_NAME: letters, digits, '.', '_' and '-' (it becomes the certificate CN
and part of the file name).

Environment:
  MINISOC_PKI_DAYS     validity of collector and agent certificates in days
                       (default 825)
  MINISOC_PKI_CA_DAYS  validity of the CA certificate in days (default 3650)

Example:
  $PROG /etc/minisoc/pki web1 db1
EOF
}

log() { printf 'pki: %s\n' "$*" >&2; }
die() { printf 'pki: error: %s\n' "$*" >&2; exit 1; }

case "${1:-}" in
  -h | --help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
  -*) die "unknown option: $1 (see --help)" ;;
esac

DIR=$1
shift

LEAF_DAYS=${MINISOC_PKI_DAYS:-825}
CA_DAYS=${MINISOC_PKI_CA_DAYS:-3650}
[[ "$LEAF_DAYS" =~ ^[1-9][0-9]*$ ]] || die "MINISOC_PKI_DAYS must be a positive integer, got '$LEAF_DAYS'"
[[ "$CA_DAYS" =~ ^[1-9][0-9]*$ ]] || die "MINISOC_PKI_CA_DAYS must be a positive integer, got '$CA_DAYS'"

for name in "$@"; do
  [[ "$name" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$ ]] ||
    die "invalid agent name '$name' (letters, digits, '.', '_', '-'; at most 64)"
done

command -v openssl >/dev/null 2>&1 || die "openssl not found (run deploy/install-deps.sh)"

mkdir -p -- "$DIR"
cd -- "$DIR"

# Everything is written to temporary files and renamed into place, so an
# interrupted run never leaves a half-written key or certificate behind.
TMP=$(mktemp -d .pki.XXXXXX)
trap 'rm -rf -- "$TMP"' EXIT

# new_key FILE: write a fresh P-256 key to FILE with mode 0600.
new_key() {
  (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
    -out "$1" 2>/dev/null) || die "cannot generate key $1"
  chmod 600 "$1"
}

# ensure_key NAME: make sure NAME.key exists; a new one gets mode 0600, an
# existing one keeps its owner and mode (e.g. 0640 for a service's group).
ensure_key() {
  if [[ ! -f "$1.key" ]]; then
    new_key "$TMP/$1.key"
    mv -f -- "$TMP/$1.key" "$1.key"
    log "created $DIR/$1.key"
  fi
}

# random_serial: a positive 128-bit serial number.
random_serial() {
  printf '0x7%s' "$(openssl rand -hex 16 | cut -c2-)"
}

# --- CA --------------------------------------------------------------------
if [[ -f ca.crt && ! -f ca.key ]]; then
  # Usable for verification only; fine as long as no certificate must be signed.
  need_sign=0
  [[ -f collector.crt ]] || need_sign=1
  for name in "$@"; do [[ -f "agent-$name.crt" ]] || need_sign=1; done
  ((need_sign == 0)) || die "$DIR/ca.crt exists without ca.key: cannot sign new certificates"
  log "ca.key absent, keeping existing certificates as they are"
else
  ensure_key ca
  if [[ -f ca.crt ]]; then
    log "keeping $DIR/ca.crt"
  else
    openssl req -x509 -new -key ca.key -sha256 -days "$CA_DAYS" \
      -set_serial "$(random_serial)" \
      -subj "/O=minisoc/CN=minisoc development CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -addext "subjectKeyIdentifier=hash" \
      -out "$TMP/ca.crt" || die "cannot create CA certificate"
    chmod 644 "$TMP/ca.crt"
    mv -f -- "$TMP/ca.crt" ca.crt
    log "created $DIR/ca.crt (valid $CA_DAYS days)"
  fi
fi

# issue BASENAME SUBJECT EXTENSIONS: make sure BASENAME.crt exists, is signed
# by ca.crt and still valid; otherwise issue it (reusing BASENAME.key).
issue() {
  local base=$1 subj=$2 ext=$3
  if [[ -f "$base.crt" ]]; then
    if openssl verify -CAfile ca.crt "$base.crt" >/dev/null 2>&1; then
      log "keeping $DIR/$base.crt"
      ensure_key "$base"
      return 0
    fi
    [[ -f ca.key ]] || die "$DIR/$base.crt does not verify against ca.crt and ca.key is absent"
    log "$DIR/$base.crt does not verify against ca.crt: issuing it again"
  fi
  ensure_key "$base"
  printf '%s\n' "$ext" >"$TMP/$base.ext"
  openssl req -new -key "$base.key" -subj "$subj" -out "$TMP/$base.csr" ||
    die "cannot create request for $base"
  openssl x509 -req -in "$TMP/$base.csr" -CA ca.crt -CAkey ca.key \
    -set_serial "$(random_serial)" -sha256 -days "$LEAF_DAYS" \
    -extfile "$TMP/$base.ext" -out "$TMP/$base.crt" 2>/dev/null ||
    die "cannot sign certificate for $base"
  chmod 644 "$TMP/$base.crt"
  mv -f -- "$TMP/$base.crt" "$base.crt"
  log "created $DIR/$base.crt (valid $LEAF_DAYS days)"
}

COMMON_EXT="basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid,issuer"

# --- collector (TLS server) -----------------------------------------------
issue collector "/O=minisoc/CN=collector.minisoc.local" "$COMMON_EXT
extendedKeyUsage=serverAuth
subjectAltName=DNS:collector.minisoc.local,DNS:localhost,IP:127.0.0.1"

# --- agents (TLS clients) ---------------------------------------------------
for name in "$@"; do
  issue "agent-$name" "/O=minisoc/CN=$name" "$COMMON_EXT
extendedKeyUsage=clientAuth"
done
