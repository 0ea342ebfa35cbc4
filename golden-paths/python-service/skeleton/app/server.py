"""The HTTP server of ${{ values.name }}.

Endpoints:

- ``GET /``: JSON describing the service.
- ``GET /healthz``: ``ok`` while the service is up (used by Pave's probes).
- anything else: 404 with a JSON error.

Configuration comes from the environment: ``HOST`` (default 127.0.0.1),
``PORT`` (default ${{ values.port }}; ``0`` picks a free port) and ``SERVICE_NAME``.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Mapping
from urllib.parse import urlsplit

SERVICE_NAME = "${{ values.name }}"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = ${{ values.port }}

logger = logging.getLogger("app")


class ConfigError(ValueError):
    """The environment holds a setting the service cannot use."""


@dataclass(frozen=True)
class Settings:
    """Where the service listens and what it calls itself."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    service_name: str = SERVICE_NAME

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> "Settings":
        """Reads HOST, PORT and SERVICE_NAME; unset or empty means the default."""
        host = environ.get("HOST") or DEFAULT_HOST
        raw_port = environ.get("PORT") or str(DEFAULT_PORT)
        try:
            port = int(raw_port)
        except ValueError:
            raise ConfigError(
                f"PORT must be a number between 0 and 65535, got {raw_port!r}"
            ) from None
        if not 0 <= port <= 65535:
            raise ConfigError(f"PORT must be between 0 and 65535, got {port}")
        service_name = environ.get("SERVICE_NAME") or SERVICE_NAME
        return cls(host=host, port=port, service_name=service_name)


class Handler(BaseHTTPRequestHandler):
    """Answers one request; the server runs each connection in its own thread."""

    server_version = f"{SERVICE_NAME}/0.1"
    # Responses close the connection, which keeps shutdown simple.
    protocol_version = "HTTP/1.0"

    def do_GET(self) -> None:  # noqa: N802 (name required by http.server)
        path = urlsplit(self.path).path
        if path == "/":
            name = self.server.settings.service_name
            self._send_json(
                HTTPStatus.OK,
                {"service": name, "message": f"Hello from {name}!"},
            )
        elif path == "/healthz":
            self._send(HTTPStatus.OK, b"ok\n", "text/plain; charset=utf-8")
        else:
            self._send_json(
                HTTPStatus.NOT_FOUND, {"error": "not found", "path": path}
            )

    def _send_json(self, status: HTTPStatus, body: dict) -> None:
        self._send(status, json.dumps(body).encode("utf-8"), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        logger.info("%s %s", self.address_string(), format % args)


class Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its settings."""

    daemon_threads = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__((settings.host, settings.port), Handler)


def make_server(settings: Settings | None = None) -> Server:
    """Binds a server (not yet serving); ``server.server_address`` has the port."""
    return Server(settings or Settings())


def main(environ: Mapping[str, str] | None = None) -> int:
    """Serves until SIGTERM or SIGINT, then shuts down cleanly and returns 0."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s"
    )
    try:
        settings = Settings.from_env(os.environ if environ is None else environ)
        server = make_server(settings)
    except (ConfigError, OSError) as error:
        logger.error("cannot start %s: %s", SERVICE_NAME, error)
        return 2

    stop = threading.Event()

    def request_stop(signum: int, _frame: object) -> None:
        logger.info("received %s, shutting down", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)

    # Signals must reach the main thread, which is the only one that runs
    # Python signal handlers: the server thread (and the request threads it
    # starts) block them. A short poll interval makes shutdown quick.
    stop_signals = {signal.SIGTERM, signal.SIGINT}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    worker = threading.Thread(
        target=server.serve_forever,
        kwargs={"poll_interval": 0.05},
        name="http",
        daemon=True,
    )
    worker.start()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, stop_signals)
    host, port = server.server_address[:2]
    logger.info("%s listening on http://%s:%s", settings.service_name, host, port)
    try:
        stop.wait()
    finally:
        server.shutdown()
        server.server_close()
        worker.join()
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
