"""``acsq serve [--host 127.0.0.1] [--port 5000]``: the web app on Flask's development server.

For production, docker-compose runs it under gunicorn
(``gunicorn "webapp.wsgi:app_from_environment()"``).
"""

from __future__ import annotations

import argparse
import sys

from acsq_mongo.errors import AcsqError
from acsq_mongo.settings import Settings, redact_uri


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on (default: 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=5000, help="port (default: 5000)")


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 5000) -> None:
    """Serve the web app until interrupted (Flask's threaded development server).

    Parameters
    ----------
    settings : Settings
        The database, ``data`` (the quicklook images) and ``archive``.
    host : str
        Address to listen on; 127.0.0.1 keeps it to this machine.
    port : int
        TCP port.

    Raises
    ------
    AcsqError
        If the port cannot be opened.
    """
    from webapp import create_app  # the web app is a higher layer: imported only to serve

    if not 0 < port < 65536:
        raise AcsqError(f"--port must be 1-65535, got {port}")
    app = create_app(settings)
    print(f"acsq serve: http://{host}:{port}/ (database {redact_uri(settings.mongo_uri)}, "
          f"{settings.db}; images from {settings.data}); Ctrl-C stops", file=sys.stderr,
          flush=True)
    try:
        app.run(host=host, port=port, threaded=True, debug=False, use_reloader=False)
    except OSError as exc:
        raise AcsqError(f"cannot serve on {host}:{port}: {exc.strerror or exc}") from None


def run(args: argparse.Namespace, settings: Settings) -> int:
    serve(settings, args.host, args.port)
    return 0
