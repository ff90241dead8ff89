"""Verifies our own asymmetric access tokens with a third-party library.

PyJWT, knowing nothing of this project, fetches a running example server's
JWKS and checks a token it issued: signature (with the key the token's
`kid` names), `iss`, `aud` and `exp`. Run by scripts/pyjwt-check.sh.
Usage: python3 pyjwt-check.py BASE_URL ALGORITHM
"""

import json
import sys
import urllib.request

import jwt

base, algorithm = sys.argv[1], sys.argv[2]


def call(method, path, body=None):
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:
        return response.status, {k.lower(): v for k, v in response.headers.items()}, json.loads(response.read() or b"null")


status, _, signed_up = call(
    "POST",
    "/api/auth/sign-up",
    {"email": f"pyjwt-{algorithm.lower()}@example.com", "password": "correct horse battery"},
)
assert status == 201, status
token = signed_up["access_token"]

status, headers, jwks = call("GET", "/api/auth/jwks")
assert status == 200, status
assert "max-age" in headers.get("cache-control", ""), headers
for key in jwks["keys"]:
    assert key["use"] == "sig" and key["alg"] == algorithm, key
    assert not {"d", "p", "q", "dp", "dq", "qi"} & key.keys(), key

signing_key = jwt.PyJWKClient(base + "/api/auth/jwks").get_signing_key_from_jwt(token)
claims = jwt.decode(
    token,
    signing_key.key,
    algorithms=[algorithm],
    audience="task-api",
    issuer="task-api",
    options={"require": ["exp", "iat", "sub", "iss", "aud"]},
)
assert claims["sub"] == signed_up["user"]["id"], claims
assert jwt.get_unverified_header(token)["kid"] == signing_key.key_id

# A tampered payload must fail with the same key.
head, payload, signature = token.split(".")
tampered = ".".join([head, payload[:-2] + ("A" if payload[-2] != "A" else "B") + payload[-1], signature])
try:
    jwt.decode(tampered, signing_key.key, algorithms=[algorithm], audience="task-api", issuer="task-api")
except jwt.InvalidTokenError:
    pass
else:
    raise AssertionError("PyJWT accepted a tampered token")
print(f"PyJWT {jwt.__version__} verified a {algorithm} token (kid {signing_key.key_id}) against the JWKS")
