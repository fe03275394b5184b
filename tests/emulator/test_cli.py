"""The `emulator` and `hf-server` subcommands as processes, and HTTPS serving."""

from __future__ import annotations

import os
import shutil
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulators import ElasticsearchEmulator, serve
from emulators.vendors.eis import EisServer

ROOT = Path(__file__).resolve().parents[2]


def launch(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "emulators.commands", *args],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str], sig: int = signal.SIGTERM) -> tuple[int, str]:
    process.send_signal(sig)
    _, stderr = process.communicate(timeout=10)
    return process.returncode, stderr


@pytest.fixture
def tls_files(tmp_path: Path) -> Iterator[tuple[str, str]]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command-line tool is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )
    yield str(cert), str(key)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["on SIGTERM", "on SIGINT"])
def test_the_emulator_command_prints_its_url_first_and_exits_cleanly(sig: int) -> None:
    with launch(
        "emulator", "--port", "0", "--es-version", "8.19.0", "--no-default-endpoints"
    ) as process:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=url) as client:
            assert client.get("/").json()["version"]["number"] == "8.19.0"
            assert client.get("/_inference").json() == {"endpoints": []}
        assert stop(process, sig) == (0, "")


def test_the_emulator_command_reads_credentials_from_the_environment() -> None:
    with launch("emulator", env={"ES_EMULATOR_API_KEY": "secret-key"}) as process:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        with httpx.Client(base_url=url) as client:
            assert client.get("/").status_code == 401
            assert (
                client.get("/", headers={"Authorization": "ApiKey secret-key"}).status_code == 200
            )
        assert stop(process)[0] == 0


def test_the_hf_server_command_serves_embeddings_of_the_requested_size() -> None:
    with launch("hf-server", "--dimensions", "16", env={"HF_SERVER_API_KEYS": "a,b"}) as process:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        with httpx.Client(base_url=url) as client:
            ok = client.post(
                "/embed", json={"inputs": ["x"]}, headers={"Authorization": "Bearer b"}
            )
            assert len(ok.json()[0]) == 16
            assert (
                client.post(
                    "/embed", json={"inputs": ["x"]}, headers={"Authorization": "Bearer c"}
                ).status_code
                == 401
            )
        assert stop(process) == (0, "")


def test_an_invalid_version_is_a_usage_error() -> None:
    with launch("emulator", "--es-version", "nine") as process:
        _, stderr = process.communicate(timeout=10)
    assert process.returncode == 2
    assert "not an Elasticsearch version" in stderr


def test_the_emulator_serves_https_with_a_given_certificate(tls_files: tuple[str, str]) -> None:
    cert, key = tls_files
    with serve(ElasticsearchEmulator(), ssl_context=(cert, key)) as server:
        assert server.url.startswith("https://127.0.0.1:")
        trust = ssl.create_default_context(cafile=cert)
        with httpx.Client(base_url=server.url, verify=trust) as client:
            assert client.get("/").json()["tagline"] == "You Know, for Search"
        with httpx.Client(base_url=server.url) as untrusting, pytest.raises(httpx.ConnectError):
            untrusting.get("/")


def test_the_emulator_command_serves_https_with_tls_flags(tls_files: tuple[str, str]) -> None:
    cert, key = tls_files
    with launch("emulator", "--tls-cert", cert, "--tls-key", key) as process:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        assert url.startswith("https://")
        with httpx.Client(base_url=url, verify=ssl.create_default_context(cafile=cert)) as client:
            assert client.get("/").status_code == 200
        assert stop(process) == (0, "")


def test_the_emulator_command_takes_node_settings_as_elasticsearch_does() -> None:
    with serve(EisServer({"rainbow-sprinkles": ("chat_completion",)})) as eis:
        setting = f"xpack.inference.elastic.url={eis.url}"
        with launch("emulator", "--es-version", "9.1.0", "-E", setting) as process:
            assert process.stdout is not None
            url = process.stdout.readline().strip()
            with httpx.Client(base_url=url) as client:
                found = client.get("/_inference/chat_completion/_all").json()["endpoints"]
            assert stop(process)[0] == 0
    assert [e["inference_id"] for e in found] == [".rainbow-sprinkles-elastic"]
    with launch("emulator", "-E", "no-equals-sign") as process:
        assert process.wait(timeout=10) == 2
        assert process.stderr is not None
        assert "-E takes KEY=VALUE" in process.stderr.read()
