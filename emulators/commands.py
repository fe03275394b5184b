"""`es-inference emulator` and `es-inference hf-server`: run the emulated servers from a shell.

The first line on stdout is exactly the URL served; the process runs until SIGINT/SIGTERM and
then exits 0. Credentials may come from the environment so they stay off the command line.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from .elasticsearch.app import ElasticsearchEmulator
from .elasticsearch.versions import DEFAULT_ES_VERSION
from .huggingface.endpoints_api import EndpointsApi, HubAccount, Timing
from .huggingface.inference_server import HuggingFaceServer, ModelUnavailable
from .serve import serve

__all__ = [
    "ENV_PREFIX_ES",
    "HF_API_KEYS_ENV",
    "HF_ENDPOINTS_ACCOUNTS_ENV",
    "main",
    "register",
    "run_emulator",
    "run_hf_endpoints",
    "run_hf_server",
]

ENV_PREFIX_ES = "ES_EMULATOR_"
HF_API_KEYS_ENV = "HF_SERVER_API_KEYS"
HF_ENDPOINTS_ACCOUNTS_ENV = "HF_ENDPOINTS_ACCOUNTS"


def _serve_until_signalled(
    app: Any, host: str, port: int, tls: tuple[str, str] | None, verbose: bool
) -> int:
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            server = serve(app, host, port, ssl_context=tls, verbose=verbose)
        except OSError as exc:
            print(f"es-inference: cannot serve on {host}:{port}: {exc}", file=sys.stderr)
            return 1
        with server:
            print(server.url, flush=True)
            while not stop.wait(0.1):
                pass
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _build_and_serve(command: str, args: argparse.Namespace, build: Callable[[], Any]) -> int:
    """Build the app from `args` and serve it until a signal.

    A bad option (`ValueError`) prints `es-inference <command>: error: …` and returns 2; a
    model that cannot be loaded (`ModelUnavailable`) the same with 1.
    """
    try:
        app = build()
        tls = _tls(args)
    except (ValueError, ModelUnavailable) as exc:
        print(f"es-inference {command}: error: {exc}", file=sys.stderr)
        return 2 if isinstance(exc, ValueError) else 1
    return _serve_until_signalled(app, args.host, args.port, tls, args.verbose)


def _tls(args: argparse.Namespace) -> tuple[str, str] | None:
    if bool(args.tls_cert) != bool(args.tls_key):
        raise ValueError("--tls-cert and --tls-key go together")
    return (args.tls_cert, args.tls_key) if args.tls_cert else None


def _node_setting(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"-E takes KEY=VALUE, as Elasticsearch does; got {text!r}")
    return key.strip(), value


def run_emulator(args: argparse.Namespace) -> int:
    """Handler of `es-inference emulator`."""
    cli_credentials = any((args.api_key, args.username, args.password, args.bearer_token))

    def pick(name: str) -> str | None:
        value: str | None = getattr(args, name)
        if cli_credentials:
            return value
        return os.environ.get(ENV_PREFIX_ES + name.upper()) or None

    def build() -> ElasticsearchEmulator:
        return ElasticsearchEmulator(
            version=args.es_version,
            default_endpoints=not args.no_default_endpoints,
            api_key=pick("api_key"),
            username=pick("username"),
            password=pick("password"),
            bearer_token=pick("bearer_token"),
            validation_timeout=args.validation_timeout,
            data_dir=args.data_dir,
            node_settings=dict(_node_setting(text) for text in args.node_setting),
        )

    return _build_and_serve("emulator", args, build)


def run_hf_server(args: argparse.Namespace) -> int:
    """Handler of `es-inference hf-server`."""
    keys = args.api_key
    if not keys and os.environ.get(HF_API_KEYS_ENV):
        keys = [k.strip() for k in os.environ[HF_API_KEYS_ENV].split(",") if k.strip()]
    return _build_and_serve(
        "hf-server",
        args,
        lambda: HuggingFaceServer(
            api_keys=keys or None, dimensions=args.dimensions, model=args.model
        ),
    )


def _accounts(specs: list[str]) -> dict[str, HubAccount]:
    accounts = {}
    for spec in specs:
        token, sep, who = spec.partition("=")
        user, _, orgs = who.partition(":")
        if not sep or not token or not user:
            raise ValueError("an account is TOKEN=USER or TOKEN=USER:ORG[,ORG...]")
        accounts[token] = HubAccount(user, tuple(o for o in orgs.split(",") if o))
    return accounts


def run_hf_endpoints(args: argparse.Namespace) -> int:
    """Handler of `es-inference hf-endpoints`."""
    specs = list(args.account)
    if not specs and os.environ.get(HF_ENDPOINTS_ACCOUNTS_ENV):
        specs = [s.strip() for s in os.environ[HF_ENDPOINTS_ACCOUNTS_ENV].split(";") if s.strip()]

    def build() -> EndpointsApi:
        accounts = _accounts(specs)
        if not accounts:
            raise ValueError(f"name at least one --account (or set {HF_ENDPOINTS_ACCOUNTS_ENV})")
        timing = Timing(args.pending, args.initializing, args.updating, args.cold_start)
        return EndpointsApi(accounts=accounts, timing=timing, data_dir=args.data_dir)

    return _build_and_serve("hf-endpoints", args, build)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="private key of --tls-cert")
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the `emulator` and `hf-server` subcommands (each sets `func=` to its handler)."""
    es = subparsers.add_parser(
        "emulator",
        help="run the Elasticsearch Inference API emulator",
        description="Run the Elasticsearch Inference API emulator; stdout's first line is its URL."
        f" Credentials may also come from {ENV_PREFIX_ES}API_KEY, {ENV_PREFIX_ES}USERNAME,"
        f" {ENV_PREFIX_ES}PASSWORD or {ENV_PREFIX_ES}BEARER_TOKEN.",
    )
    _common(es)
    es.add_argument("--es-version", default=DEFAULT_ES_VERSION, help="version to impersonate")
    es.add_argument(
        "--no-default-endpoints", action="store_true", help="do not list preconfigured endpoints"
    )
    es.add_argument(
        "--validation-timeout", type=float, default=30.0, help="seconds allowed for HF calls"
    )
    es.add_argument(
        "--data-dir", metavar="DIR", help="keep the cluster's state in DIR across restarts"
    )
    es.add_argument(
        "-E",
        dest="node_setting",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a node setting, as Elasticsearch's -E (xpack.inference.elastic.url=URL: the"
        " Elastic Inference Service the elastic service uses)",
    )
    auth = es.add_mutually_exclusive_group()
    auth.add_argument("--api-key", help="require `Authorization: ApiKey <key>`")
    auth.add_argument("--username", help="require Basic auth with this user (needs --password)")
    auth.add_argument("--bearer-token", help="require `Authorization: Bearer <token>`")
    es.add_argument("--password", help="password for --username")
    es.set_defaults(func=run_emulator)

    hf = subparsers.add_parser(
        "hf-server",
        help="run the Hugging-Face-compatible test server",
        description="Run the Hugging-Face-compatible test server. The first stdout line is its URL."
        f" Accepted keys may also come from {HF_API_KEYS_ENV} (comma-separated).",
    )
    _common(hf)
    hf.add_argument("--dimensions", type=int, default=384, help="embedding size (hash model)")
    hf.add_argument("--model", choices=("hash", "minilm"), default="hash", help="embedding model")
    hf.add_argument(
        "--api-key", action="append", default=[], help="accepted bearer token (repeatable)"
    )
    hf.set_defaults(func=run_hf_server)

    hfe = subparsers.add_parser(
        "hf-endpoints",
        help="run the Hugging Face Inference Endpoints API emulator",
        description="Run the Inference Endpoints management API emulator (routes under /v2, the"
        " Hub's /api/whoami-v2, and each running endpoint's URL). The first stdout line is its"
        f" URL. Accounts may also come from {HF_ENDPOINTS_ACCOUNTS_ENV} (';'-separated).",
    )
    _common(hfe)
    hfe.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="TOKEN=USER[:ORG,...]",
        help="an accepted token, its user and organisations (repeatable)",
    )
    for name, default in (("pending", 0.5), ("initializing", 1.0), ("updating", 0.5)):
        hfe.add_argument(f"--{name}", type=float, default=default, help=f"seconds {name}")
    hfe.add_argument("--cold-start", type=float, default=0.5, help="seconds to wake from zero")
    hfe.add_argument("--data-dir", metavar="DIR", help="keep the endpoints in DIR across restarts")
    hfe.set_defaults(func=run_hf_endpoints)


def main(argv: list[str] | None = None) -> int:
    """Run one of the two subcommands on its own (as `python -m emulators.commands`)."""
    parser = argparse.ArgumentParser(prog="es-inference")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    result: int = args.func(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
