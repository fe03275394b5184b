"""A loopback stand-in for Amazon Bedrock's runtime API that checks AWS Signature Version 4.

It answers what Elasticsearch's `amazonbedrock` service sends through the AWS SDK
(`BedrockRuntimeAsyncClient`): `POST /model/<modelId>/invoke` with the embeddings body of the
model's provider (Titan `{"inputText"}` answered `{"embedding", "inputTextTokenCount"}`, Cohere
`{"texts", "input_type"}` answered `{"embeddings", "id", "response_type", "texts"}`), and the
Converse API: `POST /model/<modelId>/converse` (a JSON answer) and `.../converse-stream` (an
`application/vnd.amazon.eventstream` answer of `messageStart`, `contentBlockDelta` and
`messageStop` events). The shapes are AWS's (Bedrock's InvokeModel and Converse references), as
ES's response listeners read them (`AmazonBedrockEmbeddingsResponseListener` and the Converse
ones: the vector's size becomes the endpoint's `dimensions`).

Every request must be signed the way AWS checks it: `Authorization: AWS4-HMAC-SHA256
Credential=<access key>/<date>/<region>/bedrock/aws4_request, SignedHeaders=…, Signature=…`,
for the region of the `Host` (`bedrock-runtime.<region>.amazonaws.com`). The signature is
recomputed with botocore's `SigV4Auth` (the signer of AWS's own Python SDK, kept by AWS; the
stand-in trusts a well-kept implementation rather than a hand-written one) from the secret key
the stand-in holds for the access key. Failures answer 403 with AWS's REST-JSON error shape
(`x-amzn-ErrorType` header, `{"message": …}` body): an unknown access key
`UnrecognizedClientException`, a wrong signature (a wrong secret key) `InvalidSignatureException`,
a missing or malformed header `MissingAuthenticationTokenException` /
`IncompleteSignatureException`.
"""

from __future__ import annotations

import binascii
import hmac
import json
import re
import struct
import uuid
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request, Response

from emulators.admin import EmulatorApp, json_response
from emulators.huggingface.inference_server import HashEmbedder

__all__ = ["BedrockStandIn", "event_stream_message"]

DEFAULT_DIMENSIONS = 8
_AUTH = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, ?SignedHeaders=(?P<headers>[a-z0-9;-]+), ?"
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)
_HOST = re.compile(r"^bedrock-runtime\.(?P<region>[a-z0-9-]+)\.amazonaws\.com$")
_PATH = re.compile(r"^/model/(?P<model>[^/]+)/(?P<action>invoke|converse|converse-stream)$")
_ERROR_NAMESPACE = "http://internal.amazon.com/coral/com.amazon.coral.service/"
MESSAGES = {
    "MissingAuthenticationTokenException": "Missing Authentication Token",
    "UnrecognizedClientException": "The security token included in the request is invalid.",
    "InvalidSignatureException": (
        "The request signature we calculated does not match the signature you provided. Check"
        " your AWS Secret Access Key and signing method. Consult the service documentation for"
        " details."
    ),
}


def _aws_error(error_type: str, message: str | None = None, status: int = 403) -> Response:
    return json_response(
        {"message": message or MESSAGES[error_type]},
        status,
        [
            ("x-amzn-ErrorType", f"{error_type}:{_ERROR_NAMESPACE}"),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )


def _header(name: str, value: str) -> bytes:
    encoded = value.encode()
    return bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(encoded)) + encoded


def event_stream_message(event_type: str, payload: Mapping[str, Any]) -> bytes:
    """One `application/vnd.amazon.eventstream` message (prelude, headers, payload, CRCs)."""
    headers = (
        _header(":event-type", event_type)
        + _header(":content-type", "application/json")
        + _header(":message-type", "event")
    )
    body = json.dumps(payload).encode()
    total = 12 + len(headers) + len(body) + 4
    prelude = struct.pack(">II", total, len(headers))
    prelude += struct.pack(">I", binascii.crc32(prelude))
    message = prelude + headers + body
    return message + struct.pack(">I", binascii.crc32(message))


class BedrockStandIn(EmulatorApp):
    """Bedrock's runtime API for the credentials it holds (access key → secret key)."""

    def __init__(self, credentials: Mapping[str, str]) -> None:
        self.credentials = dict(credentials)
        super().__init__()

    def log_extras(self, request: Request) -> dict[str, Any]:
        """The access key that signed (never the signature or the secret), the host, the body."""
        match = _AUTH.match(request.headers.get("Authorization", ""))
        try:
            body = json.loads(request.get_data(cache=True) or b"null")
        except ValueError:
            body = None
        return {
            "access_key": match["key"] if match else None,
            "host": request.host,
            "raw_path": _raw_path(request),
            "signed_headers": match["headers"].split(";") if match else None,
            "body": body,
        }

    def handle(self, request: Request) -> Response:
        """Check the signature, then answer the model call."""
        refused = self._refuse(request)
        if refused is not None:
            return refused
        match = _PATH.match(request.path)
        if match is None or request.method != "POST":
            return _aws_error("UnknownOperationException", "Unknown operation", 404)
        try:
            body = json.loads(request.get_data() or b"{}")
        except ValueError:
            return _aws_error("ValidationException", "Malformed input request", 400)
        if not isinstance(body, dict):
            return _aws_error("ValidationException", "Malformed input request", 400)
        action = match["action"]
        if action == "invoke":
            return json_response(_invoke(body), 200)
        if action == "converse":
            return json_response(_converse(), 200)
        return Response(
            b"".join(
                event_stream_message(kind, payload)
                for kind, payload in (
                    ("messageStart", {"role": "assistant"}),
                    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": "big"}}),
                    ("messageStop", {"stopReason": "end_turn"}),
                )
            ),
            200,
            content_type="application/vnd.amazon.eventstream",
        )

    def _refuse(self, request: Request) -> Response | None:
        """AWS's answer to a request it cannot authenticate, or None when the signature holds."""
        authorization = request.headers.get("Authorization")
        if not authorization:
            return _aws_error("MissingAuthenticationTokenException")
        match = _AUTH.match(authorization)
        amz_date = request.headers.get("X-Amz-Date", "")
        if match is None or not amz_date.startswith(match["date"]):
            return _aws_error(
                "IncompleteSignatureException",
                "Authorization header requires 'Credential', 'Signature' and 'SignedHeaders'"
                " parameters and a matching X-Amz-Date.",
            )
        secret = self.credentials.get(match["key"])
        if secret is None:
            return _aws_error("UnrecognizedClientException")
        host = _HOST.match(request.host)
        if host is None or host["region"] != match["region"] or match["service"] != "bedrock":
            return _aws_error(
                "InvalidSignatureException", "Credential should be scoped to a valid region."
            )
        signed = match["headers"].split(";")
        if "host" not in signed or any(name not in request.headers for name in signed):
            return _aws_error("InvalidSignatureException")
        expected = _signature(request, match["key"], secret, match["region"], signed, amz_date)
        if not hmac.compare_digest(expected, match["signature"]):
            return _aws_error("InvalidSignatureException")
        return None


def _invoke(body: dict[str, Any]) -> dict[str, Any]:
    if "texts" in body:  # Cohere's embed shape
        texts = [str(t) for t in body.get("texts") or []]
        return {
            "id": "lab",
            "texts": texts,
            "embeddings": HashEmbedder(DEFAULT_DIMENSIONS).embed(texts),
            "response_type": "embeddings_floats",
        }
    text = str(body.get("inputText", ""))
    size = body.get("dimensions")
    embedder = HashEmbedder(size if isinstance(size, int) and size > 0 else DEFAULT_DIMENSIONS)
    return {"embedding": embedder.embed([text])[0], "inputTextTokenCount": len(text.split())}


def _converse() -> dict[str, Any]:
    return {
        "output": {"message": {"role": "assistant", "content": [{"text": "big enough"}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 2, "outputTokens": 2, "totalTokens": 4},
        "metrics": {"latencyMs": 1},
    }


def _raw_path(request: Request) -> str:
    """The path as sent, percent-escapes kept (werkzeug's `path` is decoded)."""
    raw = str(request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or "")
    return raw.split("?", 1)[0] or request.path


def _signature(
    request: Request, access_key: str, secret: str, region: str, signed: list[str], amz_date: str
) -> str:
    """The SigV4 signature AWS computes for `request`, by botocore's signer."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    query = request.environ.get("QUERY_STRING", "")
    url = f"https://{request.host}{_raw_path(request)}" + (f"?{query}" if query else "")
    headers = {name: request.headers[name] for name in signed}
    rebuilt = AWSRequest(method=request.method, url=url, data=request.get_data(), headers=headers)
    rebuilt.context["timestamp"] = amz_date
    signer = SigV4Auth(Credentials(access_key, secret), "bedrock", region)
    canonical = signer.canonical_request(rebuilt)
    return str(signer.signature(signer.string_to_sign(rebuilt, canonical), rebuilt))
