"""``/users``: the accounts, for admins: who may tag, and disabling or enabling an account.

Accounts are created and given passwords with ``acsq user`` (a password never
travels through a web form here). An admin sees every account (never a
password or its hash) and may disable or enable one (POST, CSRF-protected);
anyone else gets 401 or 403, and nothing is written.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user

from acsq_mongo.accounts.users import AccountError, list_users, set_disabled
from webapp.auth import role_required
from webapp.state import state

__all__ = ["bp"]

bp = Blueprint("users", __name__)


@bp.route("/users")
@role_required("admin")
def users():
    """Every account: name, role, state, dates."""
    return render_template("users.html", users=list_users(state().db))


@bp.route("/users/<name>/<any(disable,enable):action>", methods=["POST"])
@role_required("admin")
def change(name: str, action: str):
    """Disable or enable an account (not one's own: an admin cannot lock itself out)."""
    if name == current_user.name:
        abort(400, description="You cannot disable your own account.")
    try:
        user = set_disabled(state().db, name, action == "disable")
    except AccountError as exc:
        abort(404, description=str(exc))
    flash(f"{user.name} is {'disabled' if user.disabled else 'enabled'}.")
    return redirect(url_for("users.users"), code=303)
