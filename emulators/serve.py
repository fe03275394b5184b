"""Run a WSGI app on a threaded werkzeug server in a daemon thread, quietly, optionally over TLS.

Connections stay open between requests (HTTP/1.1 keep-alive) as on Elasticsearch, whose
`DefaultRestChannel` closes the channel only when `HttpUtils.shouldCloseConnection` says so: the
request sent `Connection: close`, or is HTTP/1.0 without `Connection: keep-alive`
(`server/src/main/java/org/elasticsearch/http/HttpUtils.java`, every version the emulator knows).
werkzeug's request handler cannot keep a connection: it sends `Connection: close` on every
response and then reads whatever is left on the socket, which would swallow the next request.
So the handler keeps werkzeug's server (threads, TLS, the WSGI environ) and `http.server`'s
HTTP/1.1 connection loop, and runs the WSGI app itself: it answers with a `Content-Length`,
drains any body the app left unread, and reads the next request from the same connection.
Closing the server also closes the connections it keeps open, so no client reaches a stopped
emulator through a pooled socket.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
import threading
import traceback
from types import TracebackType
from typing import IO, Any, cast

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import LimitedStream

from .faults import DroppedConnection

__all__ = ["RunningServer", "serve"]

SslContextArg = ssl.SSLContext | tuple[str, str] | None


class _QuietHandler(WSGIRequestHandler):
    """Serves WSGI over kept-alive connections; logs nothing unless the server is verbose."""

    protocol_version = "HTTP/1.1"

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        if getattr(self.server, "emulator_verbose", False):
            super().log_request(code, size)

    def log_error(self, format: str, *args: Any) -> None:
        if getattr(self.server, "emulator_verbose", False):
            super().log_error(format, *args)

    def setup(self) -> None:
        super().setup()
        # Like ES's `http.tcp.no_delay` (default true): without it, Nagle's algorithm and the
        # client's delayed ACK hold each response of a kept-alive connection back ~40 ms.
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with _connections_lock:
            _open_connections(self.server).add(self.connection)

    def finish(self) -> None:
        with _connections_lock:
            _open_connections(self.server).discard(self.connection)
        super().finish()

    def run_wsgi(self) -> None:
        environ = self.make_environ()
        body: Any = environ["wsgi.input"]
        if not environ.get("wsgi.input_terminated"):
            length = environ.get("CONTENT_LENGTH") or ""
            size = int(length) if length.isdigit() else 0
            body = environ["wsgi.input"] = LimitedStream(cast(IO[bytes], self.rfile), size)
        response = _Response(self)
        try:
            result = self.server.app(environ, response.start)
            try:
                for chunk in result:
                    response.write(chunk)
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
            response.end()
        except (DroppedConnection, OSError):
            self.close_connection = True
            return
        except Exception:
            traceback.print_exc()
            self.close_connection = True
            if not response.headers_sent:
                response.start("500 INTERNAL SERVER ERROR", [])
                response.end()
            return
        try:
            # An unread body would be parsed as the next request; a short one ends the connection.
            while body.read(65536):
                pass
        except Exception:
            self.close_connection = True


class _Response:
    """One WSGI response on a kept-alive connection.

    It carries a `Content-Length` when the app set one or gave its whole body in one piece;
    a body the app streams in several pieces goes chunked (to an HTTP/1.0 client: unframed,
    then the connection closes).
    """

    def __init__(self, handler: _QuietHandler) -> None:
        self.handler = handler
        self.status = ""
        self.headers: list[tuple[str, str]] = []
        self.headers_sent = False
        self.chunked = False
        self.held: list[bytes] = []

    def start(self, status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        """WSGI's `start_response`."""
        if exc_info is not None and self.headers_sent:
            raise exc_info[1].with_traceback(exc_info[2])
        self.status = status
        self.headers = [h for h in headers if h[0].lower() != "connection"]
        return self.write

    def write(self, data: bytes) -> None:
        """Send (or, for the first piece of a body of unknown length, hold) `data`."""
        if not data:
            return
        if not self.headers_sent:
            if not self._has_length():
                if not self.held:
                    self.held.append(data)
                    return
                self.chunked = self.handler.request_version >= "HTTP/1.1"
                if not self.chunked:
                    self.handler.close_connection = True
            self._send_headers()
            for piece in self.held:
                self._send(piece)
            self.held.clear()
        self._send(data)

    def end(self) -> None:
        """Finish the response."""
        if not self.headers_sent:
            if not self._has_length():
                self.headers.append(("Content-Length", str(sum(map(len, self.held)))))
            self._send_headers()
            for piece in self.held:
                self._send(piece)
        elif self.chunked and self.handler.command != "HEAD":
            self.handler.wfile.write(b"0\r\n\r\n")
        self.handler.wfile.flush()

    def _has_length(self) -> bool:
        return any(key.lower() == "content-length" for key, _ in self.headers)

    def _send_headers(self) -> None:
        handler = self.handler
        code, _, reason = self.status.partition(" ")
        handler.send_response(int(code), reason)
        for key, value in self.headers:
            handler.send_header(key, value)
        if self.chunked:
            handler.send_header("Transfer-Encoding", "chunked")
        if handler.close_connection:
            handler.send_header("Connection", "close")
        handler.end_headers()
        self.headers_sent = True

    def _send(self, data: bytes) -> None:
        if self.handler.command == "HEAD":
            return
        if self.chunked:
            data = f"{len(data):x}\r\n".encode() + data + b"\r\n"
        self.handler.wfile.write(data)


_connections_lock = threading.Lock()


def _open_connections(server: Any) -> set[socket.socket]:
    connections: set[socket.socket] = server.__dict__.setdefault("emulator_connections", set())
    return connections


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
        with _connections_lock:
            kept_open = list(_open_connections(self._server))
        for connection in kept_open:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

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
