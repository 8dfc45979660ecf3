"""A real HTTP server for a Flask app in a background thread, for the tests that need one.

The browser, pyvo, curl and the security tests talk to the app over HTTP, as a
user would; :func:`serving` starts werkzeug's threaded server on a free port
and stops it on exit.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from werkzeug.serving import make_server


@contextlib.contextmanager
def serving(app) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 for the ``with`` block; yield its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
