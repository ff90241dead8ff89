#!/bin/sh
# Private keys in the formats operators have, made by OpenSSL itself, for
# tests/asymmetric.rs. Test keys only: they sign nothing real.
set -eu
cd "$(dirname "$0")"
openssl genpkey -algorithm ed25519 -out ed25519-pkcs8.pem
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out p256-pkcs8.pem
openssl ec -in p256-pkcs8.pem -out p256-sec1.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out rsa2048-pkcs8.pem
openssl rsa -in rsa2048-pkcs8.pem -traditional -out rsa2048-pkcs1.pem 2>/dev/null
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out rsa1024-pkcs8.pem
