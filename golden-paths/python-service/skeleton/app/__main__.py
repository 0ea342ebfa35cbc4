"""Entry point: `python3 -m app` runs the service until SIGTERM or Ctrl-C."""

from app.server import main

raise SystemExit(main())
