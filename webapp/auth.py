"""Sign-in, sign-out and the protection of every write: sessions, CSRF, roles.

- Sessions are Flask-Login's, in Flask's signed session cookie: ``HttpOnly``,
  ``SameSite=Lax``, and ``Secure`` when the setting ``session_cookie_secure``
  says the app is served over HTTPS. The session remembers the account's
  name and session version (:attr:`~acsq_mongo.accounts.users.User.session_id`),
  so a password change or a disable signs the account out everywhere; the
  account is read again on every request.
- The signing key is the setting ``secret_key`` (``ACSQ_SECRET_KEY``). There is
  no default: without one the app is read-only (every POST answers 403 and
  writes nothing) and ``/login`` says that accounts need a secret key.
- Every POST carries a CSRF token (Flask-WTF's ``CSRFProtect``); without it, or
  with a wrong one, the request is refused with 400 before any view runs.
- ``/login`` throttles and never tells which names exist
  (:mod:`acsq_mongo.accounts.signin`). ``/logout`` signs out on POST; a GET
  shows the button.
- :func:`role_required` guards the write views: anonymous 401 (with a link to
  sign in), a signed-in account without the role 403.
"""

from __future__ import annotations

import functools
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf.csrf import CSRFProtect

from acsq_mongo.accounts.signin import sign_in
from acsq_mongo.accounts.users import User, get_user
from acsq_mongo.errors import ConfigError
from webapp.state import state

__all__ = ["bp", "register", "role_required", "accounts_enabled", "MIN_SECRET_LENGTH"]

bp = Blueprint("auth", __name__)

#: Shortest secret key accepted (a long random string: ``python -c "import secrets;
#: print(secrets.token_urlsafe(32))"``).
MIN_SECRET_LENGTH = 32
READ_ONLY = ("This app is read-only: accounts need a secret key. The operators set "
             "ACSQ_SECRET_KEY (the setting secret_key) to allow signing in.")


class WebUser:
    """The Flask-Login face of an :class:`~acsq_mongo.accounts.users.User`."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, user: User) -> None:
        self.user = user
        self.name, self.role = user.name, user.role
        self.can_tag, self.is_admin = user.can_tag, user.is_admin

    def get_id(self) -> str:
        return self.user.session_id


def accounts_enabled() -> bool:
    """Whether this app can sign people in (it has a secret key)."""
    return bool(current_app.secret_key)


def _load(session_id: str) -> WebUser | None:
    name, _, version = session_id.rpartition(":")
    user = get_user(state().db, name)
    if user is None or user.disabled or str(user.session_version) != version:
        return None
    return WebUser(user)


def _unauthorized():
    abort(401, description="Sign in first: this needs an account (a tagger or an admin).")


def role_required(role: str):
    """Guard a view: anonymous 401, signed in without ``role`` (``tag``, ``admin``) 403."""
    def decorate(view):
        @functools.wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                _unauthorized()
            allowed = current_user.is_admin if role == "admin" else current_user.can_tag
            if not allowed:
                abort(403, description=f"{current_user.name} ({current_user.role}) may not do "
                      "this; it needs an " + ("admin." if role == "admin" else
                                               "account that may tag."))
            return view(*args, **kwargs)
        return guarded
    return decorate


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if target and target.startswith("/") and not target.startswith("//") and \
            not urlsplit(target).netloc and "\\" not in target:
        return target
    return url_for("home.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """The sign-in page (and its form's POST)."""
    if not accounts_enabled():
        return render_template("login.html", enabled=False, message=READ_ONLY), (
            403 if request.method == "POST" else 200)
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("login.html", enabled=True, next_url=next_url, message=None,
                               name="")
    name = (request.form.get("name") or "")[:64]
    attempt = sign_in(state().db, name, request.form.get("password") or "",
                      request.remote_addr)
    if attempt.user is None:
        status = 429 if attempt.wait else 401
        response = current_app.make_response((render_template(
            "login.html", enabled=True, next_url=next_url, message=attempt.message,
            name=name), status))
        if attempt.wait:
            response.headers["Retry-After"] = str(attempt.wait)
        return response
    session.clear()  # a fresh session (and CSRF token) for the signed-in account
    login_user(WebUser(attempt.user))
    flash(f"Signed in as {attempt.user.name} ({attempt.user.role}).")
    return redirect(next_url)


@bp.route("/logout", methods=["GET", "POST"])
def logout():
    """Sign out (POST); a GET shows the button."""
    if request.method == "POST":
        logout_user()
        session.clear()
        return redirect(url_for("home.index"))
    return render_template("logout.html")


def _read_only_posts():
    if request.method == "POST" and not accounts_enabled():
        abort(403, description=READ_ONLY)


def register(app: Flask, secret_key: str | None, secure_cookie: bool) -> None:
    """Install sessions, CSRF protection and the sign-in pages on ``app``.

    Raises
    ------
    ConfigError
        If the secret key is shorter than :data:`MIN_SECRET_LENGTH` characters.
    """
    if secret_key is not None and len(secret_key) < MIN_SECRET_LENGTH:
        raise ConfigError(f"setting 'secret_key' is too short: at least {MIN_SECRET_LENGTH} "
                          "random characters (python -c \"import secrets; "
                          "print(secrets.token_urlsafe(32))\")")
    app.secret_key = secret_key or None
    app.config.update(
        SESSION_COOKIE_NAME="acsq_session", SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax", SESSION_COOKIE_SECURE=bool(secure_cookie),
        REMEMBER_COOKIE_HTTPONLY=True, REMEMBER_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=bool(secure_cookie),
    )
    manager = LoginManager(app)
    manager.user_loader(_load)
    manager.unauthorized_handler(_unauthorized)
    app.before_request(_read_only_posts)
    if secret_key:
        CSRFProtect(app)
    else:
        app.jinja_env.globals["csrf_token"] = lambda: ""
    app.jinja_env.globals["accounts_enabled"] = accounts_enabled
    app.register_blueprint(bp)
