"""Response headers that keep pages to their own origin.

Everything a page uses is served by the app itself (no CDN): styles and
scripts from ``/static``, images from ``/static`` and ``/images``, the year
plot as inline SVG, trends and sky maps as PNG from ``/trend.png`` and
``/sky.png`` (matplotlib, drawn on the server; BokehJS would need
``style-src 'unsafe-inline'``, see docs/guide/plots.md). So the
Content-Security-Policy allows only ``'self'`` and no inline script or style
at all: a header value holding ``<script>`` could not run even if it escaped
the templates' autoescaping.
"""

from __future__ import annotations

from flask import Flask, Response

__all__ = ["register", "CONTENT_SECURITY_POLICY"]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


def register(app: Flask) -> None:
    """Add the headers to every response of ``app``."""
    app.after_request(_headers)
