"""A loopback stand-in for Google's OAuth 2.0 token endpoint, Vertex AI and Discovery Engine.

What Elasticsearch's `googlevertexai` service calls, with Google's shapes:

- `POST /token` (the key JSON's `token_uri`, `https://oauth2.googleapis.com/token`): the JWT
  bearer grant of service accounts (RFC 7523, Google's "Using OAuth 2.0 for Server to Server
  Applications"): form fields `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and
  `assertion=<JWT>`. The JWT must be RS256-signed by a key the stand-in holds for its `iss`
  (the service account's `client_email`), have the token endpoint as `aud`, and be short-lived
  (`exp` after now, at most an hour after `iat`). The answer is `{"access_token", "expires_in",
  "token_type": "Bearer"}`; a refusal is 400 `{"error": "invalid_grant", "error_description"}`
  with Google's descriptions ("Invalid JWT Signature.", "Invalid grant: account not found", …).
- `POST /v1/projects/<p>/locations/<l>/publishers/google/models/<m>:predict` (embeddings:
  `{"instances": [{"content"}]}` answered `{"predictions": [{"embeddings": {"values",
  "statistics"}}]}`), `:generateContent` and `:streamGenerateContent` (Gemini's `candidates`;
  the stream as server-sent events), and `POST /v1/projects/<p>/locations/global/
  rankingConfigs/default_ranking_config:rank` (Discovery Engine's `{"records": [{"id",
  "score"}]}`). Each needs `Authorization: Bearer <a token this stand-in issued>`, else 401
  with Google's `UNAUTHENTICATED` error body.

`new_service_account` makes a service-account key the way Google's IAM hands one out (the key
JSON with `type`, `project_id`, `private_key_id`, `private_key` (PKCS#8 PEM), `client_email`,
`client_id`, `token_uri`); the lab generates its keys when it starts, so none is ever in the
repository. RSA and the signature check use `cryptography` (PyCA's maintained library).
"""

from __future__ import annotations

import base64
import json
import re
import secrets
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.admin import EmulatorApp, json_response
from emulators.huggingface.inference_server import HashEmbedder

__all__ = ["TOKEN_URI", "GoogleStandIn", "ServiceAccount", "new_service_account"]

TOKEN_URI = "https://oauth2.googleapis.com/token"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
DEFAULT_DIMENSIONS = 8
_MODEL_CALL = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/publishers/google/models/"
    r"(?P<model>[^/:]+):(?P<method>predict|generateContent|streamGenerateContent)$"
)
_RANK = re.compile(
    r"^/v1/projects/(?P<project>[^/]+)/locations/global/rankingConfigs/"
    r"(?P<config>[^/:]+):rank$"
)
UNAUTHENTICATED = {
    "error": {
        "code": 401,
        "message": (
            "Request had invalid authentication credentials. Expected OAuth 2 access token, login"
            " cookie or other valid authentication credential. See"
            " https://developers.google.com/identity/sign-in/web/devconsole-project."
        ),
        "status": "UNAUTHENTICATED",
    }
}


@dataclass(frozen=True)
class ServiceAccount:
    """A service account's key JSON (a secret) and the public key that checks its signatures."""

    email: str
    key_json: str
    public_key_pem: str


def new_service_account(
    name: str = "lab", project: str = "lab-project", token_uri: str = TOKEN_URI
) -> ServiceAccount:
    """A fresh RSA-2048 service-account key, as Google's IAM issues it."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    email = f"{name}@{project}.iam.gserviceaccount.com"
    document = {
        "type": "service_account",
        "project_id": project,
        "private_key_id": secrets.token_hex(20),
        "private_key": private_pem,
        "client_email": email,
        "client_id": str(secrets.randbelow(10**20)),
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
        "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
        "universe_domain": "googleapis.com",
    }
    return ServiceAccount(email, json.dumps(document), public_pem)


def _b64url_decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _oauth_error(error: str, description: str) -> Response:
    response = json_response({"error": error, "error_description": description}, 400)
    response.status = "400 Bad Request"  # Google's reason phrase (werkzeug's is upper case)
    return response


def _invalid_grant(description: str) -> Response:
    return _oauth_error("invalid_grant", description)


class GoogleStandIn(EmulatorApp):
    """Google's token endpoint and the Vertex AI / Discovery Engine calls ES makes."""

    TOKEN_LIFETIME = 3599

    def __init__(self, accounts: Iterable[ServiceAccount]) -> None:
        self.public_keys = {account.email: account.public_key_pem for account in accounts}
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()
        super().__init__()

    def reset_state(self) -> None:
        """Forget the access tokens issued."""
        with self._lock:
            self._tokens.clear()

    def log_extras(self, request: Request) -> dict[str, Any]:
        """Who a bearer token was issued to and the body (never the token or the assertion)."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            holder = self._tokens.get(token.strip()) if scheme.lower() == "bearer" else None
        body: Any = None
        if request.mimetype == "application/json":
            try:
                body = json.loads(request.get_data(cache=True) or b"null")
            except ValueError:
                body = None
        elif request.mimetype == "application/x-www-form-urlencoded":
            body = {"grant_type": request.form.get("grant_type")}
        return {"host": request.host, "token_holder": holder, "body": body}

    def handle(self, request: Request) -> Response:
        """Answer one Google API call."""
        if request.method == "POST" and request.path == "/token":
            return self._token(request)
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        with self._lock:
            known = scheme.lower() == "bearer" and token.strip() in self._tokens
        if not known:
            return json_response(UNAUTHENTICATED, 401)
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return _bad_request("Invalid JSON payload received.")
        call = _MODEL_CALL.match(request.path)
        if call is not None and call["method"] == "predict":
            return json_response(_predict(body), 200)
        if call is not None and call["method"] == "generateContent":
            return json_response(_generated(), 200)
        if call is not None:
            event = f"data: {json.dumps(_generated())}\r\n\r\n"
            return Response(event, 200, content_type="text/event-stream")
        if _RANK.match(request.path):
            return json_response(_ranked(body), 200)
        return json_response(
            {"error": {"code": 404, "message": "Not found", "status": "NOT_FOUND"}}, 404
        )

    def _token(self, request: Request) -> Response:
        if request.form.get("grant_type") != JWT_BEARER:
            return _oauth_error(
                "unsupported_grant_type", f"Invalid grant_type: {request.form.get('grant_type')}"
            )
        parts = str(request.form.get("assertion", "")).split(".")
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, IndexError):
            return _invalid_grant("Invalid JWT: Failed to parse the JWT.")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return _invalid_grant("Invalid JWT: Failed to parse the JWT.")
        if header.get("alg") != "RS256":
            return _invalid_grant("Invalid JWT Signature.")
        public_pem = self.public_keys.get(str(claims.get("iss")))
        if public_pem is None:
            return _invalid_grant("Invalid grant: account not found")
        if not _verified(public_pem, f"{parts[0]}.{parts[1]}".encode(), signature):
            return _invalid_grant("Invalid JWT Signature.")
        if claims.get("aud") != TOKEN_URI:
            return _invalid_grant(
                f"Invalid JWT: Failed audience check. The right audience is {TOKEN_URI}"
            )
        now = time.time()
        iat, exp = claims.get("iat"), claims.get("exp")
        if (
            not isinstance(iat, int)
            or not isinstance(exp, int)
            or not (exp > now and iat <= now + 300 and exp - iat <= 3600)
        ):
            return _invalid_grant(
                "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable"
                " timeframe. Check your iat and exp values in the JWT claim."
            )
        token = f"ya29.lab-{secrets.token_urlsafe(24)}"
        with self._lock:
            self._tokens[token] = str(claims["iss"])
        return json_response(
            {"access_token": token, "expires_in": self.TOKEN_LIFETIME, "token_type": "Bearer"}
        )


def _verified(public_pem: str, signed: bytes, signature: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = serialization.load_pem_public_key(public_pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    try:
        key.verify(signature, signed, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature:
        return False
    return True


def _bad_request(message: str) -> Response:
    error = {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
    return json_response({"error": error}, 400)


def _predict(body: dict[str, Any]) -> dict[str, Any]:
    instances = body.get("instances")
    texts = [str(i.get("content", "")) for i in (instances if isinstance(instances, list) else [])]
    parameters = body.get("parameters") if isinstance(body.get("parameters"), dict) else {}
    size = (parameters or {}).get("outputDimensionality")
    embedder = HashEmbedder(size if isinstance(size, int) and size > 0 else DEFAULT_DIMENSIONS)
    return {
        "predictions": [
            {
                "embeddings": {
                    "values": vector,
                    "statistics": {"truncated": False, "token_count": len(text.split())},
                }
            }
            for text, vector in zip(texts, embedder.embed(texts), strict=True)
        ]
    }


def _generated() -> dict[str, Any]:
    return {
        "candidates": [
            {
                "content": {"role": "model", "parts": [{"text": "big enough"}]},
                "finishReason": "STOP",
            }
        ],
        "usageMetadata": {"promptTokenCount": 2, "candidatesTokenCount": 2, "totalTokenCount": 4},
    }


def _ranked(body: dict[str, Any]) -> dict[str, Any]:
    records = body.get("records")
    found = records if isinstance(records, list) else []
    return {
        "records": [
            {"id": str(r.get("id", i)), "score": round(1 / (i + 1), 4)}
            for i, r in enumerate(found)
            if isinstance(r, dict)
        ]
    }
