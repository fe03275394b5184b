"""Run a WSGI app on a threaded werkzeug server in a daemon thread, quietly, optionally over TLS."""

from __future__ import annotations

import ssl
import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, make_server

__all__ = ["RunningServer", "serve"]

SslContextArg = ssl.SSLContext | tuple[str, str] | None


class _QuietHandler(WSGIRequestHandler):
    """Logs nothing unless the server is verbose; dropped connections are expected here."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self.server, "emulator_verbose", False):
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        if getattr(self.server, "emulator_verbose", False):
            super().log_error(format, *args)


def _quiet_handle_error(request: Any, client_address: Any) -> None:
    # Broken pipes and resets from clients that gave up are expected; anything else is a bug.
    if not isinstance(sys.exc_info()[1], OSError):
        traceback.print_exc()


class RunningServer:
    """A server running in a daemon thread: `.url`, `.port`, `.close()`; a context manager."""

    def __init__(self, server: ThreadedWSGIServer, scheme: str) -> None:
        self._server = server
        host = server.host if ":" not in server.host else f"[{server.host}]"
        self.port: int = server.port
        self.url = f"{scheme}://{host}:{self.port}"
        self._closed = False
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"emulator-{self.port}",
            daemon=True,
        )
        self._thread.start()

    def close(self) -> None:
        """Stop accepting connections and release the listening socket (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()

    def __enter__(self) -> RunningServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    ssl_context: SslContextArg = None,
    verbose: bool = False,
) -> RunningServer:
    """Serve `app` on `host:port` in a daemon thread; port 0 picks a free port.

    `ssl_context` (an `SSLContext` or a (cert, key) file pair) serves HTTPS.
    """
    server = make_server(
        host, port, app, threaded=True, request_handler=_QuietHandler, ssl_context=ssl_context
    )
    assert isinstance(server, ThreadedWSGIServer)
    server.emulator_verbose = verbose  # type: ignore[attr-defined]
    server.handle_error = _quiet_handle_error  # type: ignore[method-assign]
    return RunningServer(server, "https" if ssl_context is not None else "http")
