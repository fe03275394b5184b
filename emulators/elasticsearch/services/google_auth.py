"""The access token ES gets for a `googlevertexai` endpoint: Google's service-account flow.

ES (`GoogleVertexAiRequest.decorateWithBearerToken`, 8.15 onwards) reads the endpoint's
`service_account_json` with google-auth-library-java's `ServiceAccountCredentials.fromStream`,
scopes it to `https://www.googleapis.com/auth/cloud-platform`, refreshes it and sends
`Authorization: Bearer <access token>`; any failure becomes a 403 `status_exception` with the
library's message. This module does what that library does:

- the key JSON must be an object whose `type` is `service_account` ("Error reading credentials
  from stream, 'type' field not specified." / "… 'type' value '<t>' not recognized. Expecting
  'service_account'.") carrying `client_id`, `client_email`, `private_key` and
  `private_key_id` ("Error reading service account credential from JSON, expecting
  'client_id', …", with the library's double space); the private key is PKCS#8 PEM ("Invalid
  PKCS#8 data.");
- the token request is the JWT bearer grant to the key's `token_uri` (the library's default
  `https://oauth2.googleapis.com/token` when absent): an RS256 JWT with the header's `kid` the
  `private_key_id`, claims `iss` (the `client_email`), `scope`, `aud` (the token URI), `iat`
  and `exp` (an hour later), posted as `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer
  &assertion=<JWT>`;
- a refusal is "Error getting access token for service account: <status> <reason>\\nPOST
  <token_uri>\\n<body>, iss: <client_email>" (`ServiceAccountCredentials.refreshAccessToken`
  around google-http-client's `HttpResponseException` message).

The token URI is routed like every fixed host (`ValidationSettings.route`), so the lab's
stand-in (`emulators.vendors.google`) answers it. RS256 uses `cryptography` (PyCA's maintained
library) rather than a hand-written signature.

Choices where the sources could not settle it:
- text that is not JSON at all: google-http-client's parser message is not reproduced; the
  emulator's says the key JSON could not be parsed (still the 403 `status_exception`);
- a transport failure of the token request is reported with the name of the failure (the
  library's `IOException` message, e.g. `UnknownHostException`'s host name, is not reproduced).
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..errors import EsError, status_exception
from ..validation import ValidationSettings

__all__ = ["SCOPE", "TOKEN_URI", "access_token", "service_account"]

SCOPE = "https://www.googleapis.com/auth/cloud-platform"
TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
_REQUIRED = ("client_id", "client_email", "private_key", "private_key_id")


def _refused(message: str) -> EsError:
    return status_exception(message, status=403)


def service_account(key_json: str) -> dict[str, Any]:
    """The parsed key JSON, as `ServiceAccountCredentials.fromStream` accepts it."""
    try:
        document = json.loads(key_json)
    except ValueError as exc:
        raise _refused("Failed to parse the service account JSON: it is not JSON") from exc
    if not isinstance(document, dict) or document.get("type") is None:
        raise _refused("Error reading credentials from stream, 'type' field not specified.")
    if document["type"] != "service_account":
        raise _refused(
            f"Error reading credentials from stream, 'type' value '{document['type']}' not"
            " recognized. Expecting 'service_account'."
        )
    if any(not isinstance(document.get(field), str) for field in _REQUIRED):
        raise _refused(
            "Error reading service account credential from JSON, expecting  'client_id',"
            " 'client_email', 'private_key' and 'private_key_id'."
        )
    return document


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _assertion(account: dict[str, Any], token_uri: str) -> str:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    try:
        # The consistency checks of RSA key loading cost ~40 ms a call; a bad key still fails
        # at the token endpoint, whose signature check is what Google does.
        key = serialization.load_pem_private_key(
            account["private_key"].encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError) as exc:
        raise _refused("Invalid PKCS#8 data.") from exc
    if not isinstance(key, rsa.RSAPrivateKey):
        raise _refused("Invalid PKCS#8 data.")
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": account["private_key_id"]}
    claims = {
        "iss": account["client_email"],
        "scope": SCOPE,
        "aud": token_uri,
        "iat": now,
        "exp": now + 3600,
    }
    signing_input = ".".join(
        _b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_b64url(signature)}"


def access_token(key_json: str, settings: ValidationSettings, timeout: float) -> str:
    """Exchange the service account's signed JWT for an access token; 403 `EsError` if not."""
    account = service_account(key_json)
    token_uri = str(account.get("token_uri") or TOKEN_URI)
    assertion = _assertion(account, token_uri)
    url = settings.route(token_uri)
    host = urlsplit(url).hostname or ""
    if settings.allowed_hosts is not None and host not in settings.allowed_hosts:
        raise _refused(f"Error getting access token for service account: {urlsplit(url).netloc}")
    form = {"grant_type": JWT_BEARER, "assertion": assertion}
    try:
        response = settings.client.post(url, data=form, timeout=timeout)
    except httpx.HTTPError as exc:
        raise _refused(
            f"Error getting access token for service account: {type(exc).__name__}"
        ) from exc
    if response.status_code != 200:
        raise _refused(
            "Error getting access token for service account:"
            f" {response.status_code} {response.reason_phrase}\nPOST {token_uri}\n"
            f"{response.text}, iss: {account['client_email']}"
        )
    try:
        token = response.json().get("access_token")
    except (ValueError, AttributeError):
        token = None
    if not isinstance(token, str) or not token:
        raise _refused(
            "Error getting access token for service account: the token response has no"
            f" access_token, iss: {account['client_email']}"
        )
    return token
