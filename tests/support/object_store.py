"""A real S3-compatible object store on loopback (moto's server), for Pulumi's DIY state backend.

moto's standalone server speaks the S3 REST protocol over HTTP, so the Pulumi CLI reaches it
through its own AWS SDK v2 client exactly as it would reach S3 or MinIO. Only 127.0.0.1 is used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
from moto.server import ThreadedMotoServer

__all__ = ["ACCESS_KEY", "REGION", "SECRET_KEY", "ObjectStore", "object_store"]

ACCESS_KEY = "state-access-key"
SECRET_KEY = "state-secret-key"
REGION = "us-east-1"


@dataclass(frozen=True)
class ObjectStore:
    """A running store with one bucket."""

    endpoint: str
    bucket: str

    @property
    def backend_url(self) -> str:
        """Pulumi's backend URL for the bucket (gocloud.dev s3blob, AWS SDK v2 options)."""
        return f"s3://{self.bucket}?endpoint={self.endpoint}&region={REGION}&use_path_style=true"

    def _client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def list_keys(self, prefix: str = "") -> list[str]:
        """The keys in the bucket under ``prefix``."""
        found = self._client().list_objects_v2(Bucket=self.bucket, Prefix=prefix)
        return sorted(o["Key"] for o in found.get("Contents", []))

    def read(self, key: str) -> bytes:
        """One object's content."""
        body: bytes = self._client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return body


@contextmanager
def object_store(bucket: str = "pulumi-state") -> Iterator[ObjectStore]:
    """Serve moto's S3 on 127.0.0.1 with an empty ``bucket`` for the duration."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no line per request in test output
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        store = ObjectStore(f"http://{host}:{port}", bucket)
        store._client().create_bucket(Bucket=bucket)
        yield store
    finally:
        server.stop()
