"""${{ values.name }}: a small HTTP service built on the Python standard library.

See README.md for how to run, test and deploy it.
"""

from app.server import (
    DEFAULT_HOST,
    DEFAULT_PORT,
    SERVICE_NAME,
    ConfigError,
    Settings,
    make_server,
    main,
)

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "SERVICE_NAME",
    "ConfigError",
    "Settings",
    "make_server",
    "main",
]
