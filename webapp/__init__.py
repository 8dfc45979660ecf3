"""The acsq-mongo web app: a thin Flask face on the query core.

Build it with :func:`create_app`; nothing is read at import time::

    from acsq_mongo import load_settings
    from webapp import create_app

    app = create_app(load_settings())
    app.run()

Blueprints, one per area: :mod:`webapp.home` (``/``), :mod:`webapp.archive`
(proposals, galleries, image and header views), :mod:`webapp.query` (the
form and its results, and their download script), :mod:`webapp.images`
(quicklook JPEGs and thumbnails from ``ACSQ_DATA``), :mod:`webapp.files` (FITS
files from ``ACSQ_ARCHIVE``), :mod:`webapp.docs` (the query guide), :mod:`webapp.vo` (the IVOA
cone search and image access services, ``/vo/scs`` and ``/vo/sia``), :mod:`webapp.tags`
(anomaly flags: the image view's form and ``/anomalies``), :mod:`webapp.users`
(accounts, for admins), :mod:`webapp.trend` (``/trend``), :mod:`webapp.sky`
(``/sky.png``), :mod:`webapp.explore` and :mod:`webapp.explore_pixels` (the image
explorer, ``/explore/<rootname>/<filetype>``) and :mod:`webapp.auth` (``/login``, ``/logout``,
sessions and CSRF; without the setting ``secret_key`` the app is read-only). Every list page
answers HTML, JSON and CSV (:mod:`webapp.formats`); a parameter a page does not take is a 400
that names it (:mod:`webapp.params`). All data comes through
:mod:`acsq_mongo.query`; no view touches the database directly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from acsq_mongo import __version__
from acsq_mongo.fields import IMAGE_FILETYPES
from acsq_mongo.query.cache import ResultCache
from webapp import (
    archive,
    auth,
    display,
    docs,
    errors,
    explore_pixels,
    files,
    home,
    images,
    params,
    query,
    security,
    sky,
    tags,
    trend,
    users,
    vo,
)
from webapp.archive import proposal_segment
from webapp.budget import ReadBudget
from webapp.explore import explore_url
from webapp.files import file_url
from webapp.formats import page_url
from webapp.images import image_url
from webapp.state import WebState

if TYPE_CHECKING:
    from pymongo.database import Database

    from acsq_mongo.settings import Settings

__all__ = ["create_app", "DEFAULT_CONFIG"]

#: Flask configuration of the app; ``create_app(config=...)`` overrides any of it.
DEFAULT_CONFIG: dict[str, Any] = {
    # Only small forms are posted (sign-in, flags and a comment); refuse large bodies.
    "MAX_CONTENT_LENGTH": 64 * 1024,
}


def create_app(
    settings: Settings,
    db: Database | None = None,
    *,
    config: Mapping[str, Any] | None = None,
    cache: ResultCache | None = None,
) -> Flask:
    """Return the web app for these settings.

    Parameters
    ----------
    settings : Settings
        ``mongo_uri``/``db`` (the database), ``data`` (the quicklook images),
        ``archive`` (file paths shown on image views), ``page_size`` and
        ``max_rows``, ``server_timeout``, ``web_time_limit_ms`` (:mod:`webapp.budget`),
        ``proxy_hops`` (werkzeug's ``ProxyFix``), ``result_cache_mb``; ``secret_key``
        (sign-in and every write), ``session_cookie_secure``, ``anomaly_vocabulary``.
    db : Database, optional
        An open database (tests). Default: connect on first use, in the
        process that serves the request; while the server is down, pages
        answer 503.
    config : mapping, optional
        Flask configuration over :data:`DEFAULT_CONFIG` (e.g. ``TESTING``).
    cache : ResultCache, optional
        The result cache (default: one per app, kept until the data changes).

    Returns
    -------
    app : flask.Flask
    """
    app = Flask(__name__)
    app.config.update(DEFAULT_CONFIG)
    if config:
        app.config.update(config)
    app.extensions["acsq"] = WebState(settings, db, cache)
    for module in (home, archive, query, images, files, docs, vo, tags, users, trend, sky,
                   explore_pixels):  # the explorer's one blueprint, with its pixels
        app.register_blueprint(module.bp)
    auth.register(app, settings.secret_key, settings.session_cookie_secure)
    errors.register(app)
    params.register(app)
    security.register(app)
    app.wsgi_app = ReadBudget(app.wsgi_app, settings.web_time_limit_ms)
    if settings.proxy_hops:
        # Behind nginx: the client's address, scheme and host from the proxies' headers,
        # trusting as many hops as there are proxies (docs/guide/deployment.md).
        hops = settings.proxy_hops
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
    display.register(app)
    app.jinja_env.globals.update(
        image_url=image_url, page_url=page_url, proposal_segment=proposal_segment,
        file_url=file_url, explore_url=explore_url, explore_filetypes=IMAGE_FILETYPES,
        version=__version__, code_url=settings.code_url,
        anomaly_label=app.extensions["acsq"].vocabulary.label,
        anomaly_order=app.extensions["acsq"].vocabulary.order,
        anomaly_vocabulary=app.extensions["acsq"].vocabulary.flags,
    )
    return app
