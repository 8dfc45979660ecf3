"""Accounts of the people who may write: taggers and admins.

:mod:`.users` keeps the accounts in the ``users`` collection (passwords as
werkzeug scrypt hashes, never shown), :mod:`.throttle` refuses sign-ins after
too many recent failures of an account or a client address, and
:mod:`.signin` puts the two together for a sign-in page. ``acsq user`` and the
web app's ``/login`` are their faces.
"""

from acsq_mongo.accounts.users import ROLES, User

__all__ = ["ROLES", "User"]
