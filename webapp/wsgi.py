"""The WSGI entry point for gunicorn: ``gunicorn "webapp.wsgi:app_from_environment()"``.

Settings come from ``ACSQ_*`` environment variables and ``ACSQ_CONFIG``
(docker-compose sets them), read when gunicorn calls the factory, not at import.
"""

from __future__ import annotations

from flask import Flask

from acsq_mongo.settings import load_settings
from webapp import create_app

__all__ = ["app_from_environment"]


def app_from_environment() -> Flask:
    """Return the web app for the settings of the environment."""
    return create_app(load_settings())
