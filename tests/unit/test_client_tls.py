"""TLS as Elasticsearch is really deployed: a CA-signed chain, and ports that do not speak TLS.

Issue 14 rows 8 and 9. Elasticsearch's security auto-configuration (8.0+) serves an HTTP
certificate signed by its own CA; Elastic's clients accept a pin of any certificate in that chain
(elastic-transport's ``ssl_assert_fingerprint``), so pinning the leaf must work like pinning the CA.
An ``https://`` URL pointed at a plain-HTTP port must fail at once, not be retried as a lost
connection until the deadline.
"""

from __future__ import annotations

import hashlib
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators import ElasticsearchEmulator, RunningServer, serve
from providers.client import ElasticsearchClient
from providers.connection import ConnectionSettings, RetryPolicy
from providers.errors import ElasticsearchUnreachable
from providers.versions import Version

# Retries that would go on for 30 s if the failure were taken for a lost connection.
PATIENT = RetryPolicy(deadline=30, initial_backoff=0.05, max_backoff=0.05, max_retry_after=1)


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A CA, a leaf for 127.0.0.1 that it signed, and the chain file a server presents."""
    d = tmp_path_factory.mktemp("chain")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", str(d / "ca.key"), "-out", str(d / "ca.pem"),
             "-days", "2", "-subj", "/CN=Elasticsearch security auto-configuration HTTP CA",
             "-addext", "basicConstraints=critical,CA:TRUE")  # fmt: skip
    _openssl("req", *ec, "-keyout", str(d / "leaf.key"), "-out", str(d / "leaf.csr"),
             "-subj", "/CN=127.0.0.1")  # fmt: skip
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    _openssl("x509", "-req", "-in", str(d / "leaf.csr"), "-CA", str(d / "ca.pem"),
             "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
             "-extfile", str(d / "ext.cnf"), "-out", str(d / "leaf.pem"))  # fmt: skip
    (d / "chain.pem").write_text((d / "leaf.pem").read_text() + (d / "ca.pem").read_text())
    return {name: d / f"{name}.pem" for name in ("ca", "leaf", "chain")} | {"key": d / "leaf.key"}


def _sha256(pem: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem.read_text(encoding="ascii"))).hexdigest()


@pytest.fixture(scope="module")
def ca_signed(chain: dict[str, Path]) -> Iterator[RunningServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(chain["chain"]), str(chain["key"]))
    with serve(ElasticsearchEmulator(), ssl_context=context) as server:
        yield server


@pytest.fixture(scope="module")
def plain() -> Iterator[RunningServer]:
    with serve(ElasticsearchEmulator()) as server:
        yield server


def _client(url: str, **settings: object) -> ElasticsearchClient:
    return ElasticsearchClient(
        ConnectionSettings(endpoints=(url,), timeout=5, retry=PATIENT, **settings),  # type: ignore[arg-type]
        on_retry=RETRIES.append,
    )


RETRIES: list[str] = []


@pytest.mark.parametrize("pinned", ["leaf", "ca"], ids=["the leaf", "the CA"])
def test_pinning_the_servers_own_certificate_behind_a_ca_works_like_pinning_the_ca(
    ca_signed: RunningServer, chain: dict[str, Path], pinned: str
) -> None:
    with _client(ca_signed.url, ca_fingerprint=_sha256(chain[pinned])) as client:
        assert client.get_cluster_version() == Version(9, 1, 0)


def test_the_ca_file_of_the_chain_is_trusted_as_before(
    ca_signed: RunningServer, chain: dict[str, Path]
) -> None:
    with _client(ca_signed.url, ca_file=str(chain["ca"])) as client:
        assert client.get_cluster_version() == Version(9, 1, 0)


@pytest.mark.parametrize(
    "settings",
    [{}, {"ca_fingerprint": "ab" * 32}, {"insecure": True}],
    ids=["default verification", "a pin", "no verification"],
)
def test_https_at_a_plain_http_port_fails_at_once_saying_it_does_not_speak_tls(
    plain: RunningServer, settings: dict[str, object]
) -> None:
    url = plain.url.replace("http://", "https://")
    RETRIES.clear()
    with _client(url, **settings) as client, pytest.raises(ElasticsearchUnreachable) as caught:
        client.info()
    assert str(caught.value) == (
        f"GET / failed: {url} does not speak TLS (it answered an https:// handshake in plain "
        "text, as an http:// port does); use http:// for it, or the cluster's HTTPS port"
    )
    assert RETRIES == [], "a port that does not speak TLS was retried as a lost connection"
