"""Accounts on the web, against a real HTTP server and the real database server.

Given the sample archive ingested into the real server, three accounts (a
tagger, an admin, a disabled tagger) and the app served by werkzeug on
127.0.0.1 with a secret key, a client with a cookie jar (requests) signs in
and out, fails, is throttled, posts without or with a wrong CSRF token, writes
anonymously or without the role, and writes hostile comments. Every refused
write leaves the events, the flags and the data generation as they were; no
answer ever holds a password or its hash; hostile comments are text on every
page that shows them.
"""

from __future__ import annotations

import csv
import io
import re

import pytest
import requests
from web_server import serving

from acsq_mongo.accounts import throttle
from acsq_mongo.accounts.signin import FAILED
from acsq_mongo.accounts.users import add_user, set_disabled, set_password
from acsq_mongo.db.collections import ANOMALY_EVENTS, CATALOG, SIGN_IN_FAILURES, USERS
from acsq_mongo.db.connection import connect
from acsq_mongo.db.generation import generation
from acsq_mongo.ingest.run import run_ingest
from webapp import create_app
from webapp.security import CONTENT_SECURITY_POLICY

SECRET = "test-secret-" + "x" * 40
PASSWORDS = {"ada": "ada's long passphrase", "root": "root's long passphrase",
             "eve": "eve's long passphrase"}
HOSTILE = ['<script>alert(1)</script>', '"><svg onload=alert(2)>',
           "<img src=x onerror=alert(3)>", "</textarea><b>bold</b>",
           '=HYPERLINK("http://evil.example","click")']


@pytest.fixture(scope="module")
def site(real_server_uri, sample_archive, tmp_path_factory):
    from acsq_mongo.settings import load_settings

    work = tmp_path_factory.mktemp("accounts")
    settings = load_settings(environ={}, mongo_uri=real_server_uri, db="acsq_web_accounts",
                             archive=sample_archive.root, data=work / "var", secret_key=SECRET)
    db = connect(settings)
    db.client.drop_database(settings.db)
    assert run_ingest(settings, sample_archive.root, quicklook=False).ok
    add_user(db, "ada", "tagger", PASSWORDS["ada"])
    add_user(db, "root", "admin", PASSWORDS["root"])
    add_user(db, "eve", "tagger", PASSWORDS["eve"])
    set_disabled(db, "eve")
    rootname = next(r.rootname for r in sample_archive.rootnames if "flt" in r.filetypes)
    with serving(create_app(settings)) as url:
        yield settings, db, url, rootname
    db.client.drop_database(settings.db)
    db.client.close()


@pytest.fixture(autouse=True)
def no_failures(site):
    """Each test starts with no failed sign-in counted (they all come from 127.0.0.1)."""
    site[1][SIGN_IN_FAILURES].delete_many({})


class Client:
    """A person's browser: a cookie jar and the CSRF token of the last page."""

    def __init__(self, url: str) -> None:
        self.url, self.http, self.token = url, requests.Session(), None
        self.seen: list[str] = []

    def get(self, path: str, status: int = 200) -> requests.Response:
        response = self.http.get(self.url + path, allow_redirects=True, timeout=30)
        assert response.status_code == status, (path, response.status_code)
        found = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
        self.token = found.group(1) if found else self.token
        self.seen.append(response.text)
        return response

    def post(self, path: str, data: dict, token: str | None = "page") -> requests.Response:
        data = dict(data)
        if token == "page":
            data["csrf_token"] = self.token
        elif token is not None:
            data["csrf_token"] = token
        response = self.http.post(self.url + path, data=data, allow_redirects=False,
                                  timeout=30)
        self.seen.append(response.text + str(response.headers))
        return response

    def sign_in(self, name: str, password: str) -> requests.Response:
        self.get("/login")
        return self.post("/login", {"name": name, "password": password, "next": "/"})


def _image_path(client: Client, rootname: str) -> str:
    response = client.get(f"/rootname/{rootname}")
    return response.url[len(client.url):]


def _state(db, rootname: str) -> tuple:
    return (db[ANOMALY_EVENTS].count_documents({}),
            db[CATALOG].find_one({"_id": rootname[:8]}).get("anomalies"), generation(db),
            [u.get("disabled") for u in db[USERS].find({}, {"disabled": 1}).sort("_id", 1)])


def _message(html: str) -> str:
    found = re.search(r'<p class="alert" role="alert">(.*?)</p>', html, re.S)
    return found.group(1).strip() if found else ""


def test_a_tagger_signs_in_and_out(site):
    _, _, url, _ = site
    client = Client(url)
    response = client.sign_in("ada", PASSWORDS["ada"])
    assert response.status_code == 302 and response.headers["Location"] == "/"
    home = client.get("/").text
    assert "Signed in as ada (tagger)" in home and 'class="who"' in home
    assert client.post("/logout", {}).status_code == 302
    assert 'class="who"' not in client.get("/").text


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_when_set(site):
    settings, _, url, _ = site
    cookie = Client(url).sign_in("ada", PASSWORDS["ada"]).headers["Set-Cookie"]
    assert cookie.startswith("acsq_session=")
    attributes = {a.strip().split("=")[0].lower(): a for a in cookie.split(";")[1:]}
    assert "httponly" in attributes and attributes["samesite"].strip() == "SameSite=Lax"
    assert "secure" not in attributes
    with serving(create_app(settings.replace(session_cookie_secure=True))) as secure_url:
        # Over plain HTTP a client keeps no Secure cookie: the one the sign-in page sets
        # (its CSRF token) shows the flags, and the sign-in fails its CSRF check.
        client = Client(secure_url)
        cookie = client.get("/login").headers["Set-Cookie"]
        attributes = {a.strip().split("=")[0].lower() for a in cookie.split(";")[1:]}
        assert {"httponly", "secure", "samesite"} <= attributes
        assert client.post("/login", {"name": "ada", "password": PASSWORDS["ada"]}
                           ).status_code == 400


@pytest.mark.parametrize("name, password", [
    ("ada", "a wrong password"), ("nobody", "a wrong password"), ("nobody", PASSWORDS["ada"]),
    ("eve", PASSWORDS["eve"]),    # disabled: the same answer as a wrong password
    ("<b>x</b>", "whatever"),     # not even a valid name
])
def test_a_failed_sign_in_says_the_same_whoever_it_names(site, name, password):
    _, _, url, _ = site
    client = Client(url)
    response = client.sign_in(name, password)
    assert response.status_code == 401
    assert _message(response.text) == FAILED
    assert 'class="who"' not in client.get("/").text


@pytest.mark.parametrize("name", ["ada", "nobody"])
def test_an_account_is_throttled_after_a_handful_of_failures(site, name):
    _, _, url, _ = site
    client = Client(url)
    for _ in range(throttle.MAX_PER_ACCOUNT):
        assert _message(client.sign_in(name, "a wrong password").text) == FAILED
    # Locked, whether or not the account exists: even the right password is refused.
    response = client.sign_in(name, PASSWORDS.get(name, "anything at all"))
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "Too many failed sign-ins" in _message(response.text)
    assert 'class="who"' not in client.get("/").text
    # Another account from the same address still signs in.
    assert client.sign_in("root", PASSWORDS["root"]).status_code == 302


def test_an_address_is_throttled_after_failures_on_many_names(site):
    _, _, url, _ = site
    client = Client(url)
    for i in range(throttle.MAX_PER_ADDRESS):
        assert client.sign_in(f"guess{i}", "a wrong password").status_code == 401
    response = client.sign_in("ada", PASSWORDS["ada"])
    assert response.status_code == 429 and "Too many failed sign-ins" in response.text


@pytest.mark.parametrize("token", [None, "wrong-token", ""])
def test_a_post_without_the_right_csrf_token_is_400_and_writes_nothing(site, token):
    _, db, url, rootname = site
    client = Client(url)
    assert client.sign_in("root", PASSWORDS["root"]).status_code == 302
    path = _image_path(client, rootname)
    before = _state(db, rootname)
    for target, data in ((path + "anomalies", {"flag": "ghost", "comment": "csrf"}),
                         ("/users/ada/disable", {}), ("/logout", {})):
        response = client.post(target, data, token=token)
        assert response.status_code == 400, target
        assert "CSRF" in response.text
    assert _state(db, rootname) == before
    assert 'class="who"' in client.get("/").text  # the forged sign-out did nothing
    # Sign-in itself needs the token too.
    response = Client(url).post("/login", {"name": "ada", "password": PASSWORDS["ada"]},
                                token=token)
    assert response.status_code == 400


def test_anonymous_and_wrong_role_writes_are_refused_and_write_nothing(site):
    _, db, url, rootname = site
    anonymous = Client(url)
    path = _image_path(anonymous, rootname)
    before = _state(db, rootname)
    anonymous.get("/login")  # a session with a valid CSRF token, but no account
    assert anonymous.post(path + "anomalies", {"flag": "ghost"}).status_code == 401
    assert anonymous.post("/users/ada/disable", {}).status_code == 401
    anonymous.get("/users", status=401)
    tagger = Client(url)
    tagger.sign_in("ada", PASSWORDS["ada"])
    tagger.get("/")
    assert tagger.post("/users/eve/enable", {}).status_code == 403
    tagger.get("/users", status=403)
    assert _state(db, rootname) == before


def test_a_changed_password_or_a_disable_ends_the_sessions(site):
    _, db, url, rootname = site
    add_user(db, "tmp", "tagger", "tmp's long passphrase")
    try:
        client = Client(url)
        client.sign_in("tmp", "tmp's long passphrase")
        path = _image_path(client, rootname)
        set_password(db, "tmp", "tmp's new passphrase")
        before = _state(db, rootname)
        assert client.post(path + "anomalies", {"flag": "ghost"}).status_code == 401
        client.sign_in("tmp", "tmp's new passphrase")
        client.get(path)
        set_disabled(db, "tmp")
        assert client.post(path + "anomalies", {"flag": "ghost"}).status_code == 401
        assert _state(db, rootname)[:3] == before[:3]
    finally:
        db[USERS].delete_one({"_id": "tmp"})


def test_hostile_comments_are_text_on_every_page_and_neutral_in_csv(site):
    _, db, url, rootname = site
    client = Client(url)
    client.sign_in("ada", PASSWORDS["ada"])
    path = _image_path(client, rootname)
    for i, payload in enumerate(HOSTILE):
        flag = ("crosstalk", "ghost")[i % 2]
        current = db[CATALOG].find_one({"_id": rootname[:8]}).get("anomalies") or []
        wanted = [f for f in current if f != flag] if flag in current else [*current, flag]
        response = client.post(path + "anomalies", {"flag": wanted, "comment": payload})
        assert response.status_code == 303
        client.get(path)
    pages = [path, "/anomalies", "/anomalies?user=ada", "/anomalies?flag=crosstalk"]
    for page in pages:
        response = client.get(page)
        assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        html = response.text
        for payload in HOSTILE[:4]:
            assert payload not in html, (page, payload)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, page
        assert "&lt;img src=x onerror=alert(3)&gt;" in html, page
        assert "<b>bold</b>" not in html and "<svg" not in html.lower()
    data = client.get("/anomalies.json?user=ada").json()
    assert {r["comment"] for r in data["rows"]} >= set(HOSTILE)  # JSON: the text as written
    rows = list(csv.DictReader(io.StringIO(client.get("/anomalies.csv?user=ada").text)))
    assert {r["comment"] for r in rows} >= {"'" + HOSTILE[4]} | set(HOSTILE[:4])


def test_a_long_comment_is_refused_and_writes_nothing(site):
    _, db, url, rootname = site
    client = Client(url)
    client.sign_in("ada", PASSWORDS["ada"])
    path = _image_path(client, rootname)
    before = _state(db, rootname)
    response = client.post(path + "anomalies", {"flag": "satellite_trail",
                                                "comment": "x" * 501})
    assert response.status_code == 400 and "at most 500" in response.text
    assert _state(db, rootname) == before


def test_no_answer_holds_a_password_or_its_hash(site):
    _, db, url, rootname = site
    hashes = [u["password_hash"] for u in db[USERS].find()]
    assert all(h.startswith("scrypt:") for h in hashes)
    admin = Client(url)
    admin.sign_in("root", PASSWORDS["root"])
    admin.sign_in("ada", "a wrong password")  # a failure, echoed page and all
    admin.sign_in("root", PASSWORDS["root"])
    users_page = admin.get("/users").text
    for page in ("/", "/anomalies", "/anomalies.json", "/anomalies.csv",
                 _image_path(admin, rootname), "/query?anomaly__exists=true",
                 "/query.json?anomaly__exists=false", "/query.csv?columns=rootname,anomalies"):
        admin.get(page)
    assert "ada" in users_page and "eve" in users_page and "disabled" in users_page
    everything = "\n".join(admin.seen)
    for secret in [*PASSWORDS.values(), *hashes, "scrypt:", "password_hash"]:
        assert secret not in everything, secret


def test_without_a_secret_key_the_app_is_read_only(site):
    settings, db, _, rootname = site
    with serving(create_app(settings.replace(secret_key=None))) as url:
        client = Client(url)
        page = client.get("/login").text
        assert "accounts need a secret key" in page and 'type="password"' not in page
        path = _image_path(client, rootname)
        before = _state(db, rootname)
        for target, data in (("/login", {"name": "ada", "password": PASSWORDS["ada"]}),
                             (path + "anomalies", {"flag": "ghost"}),
                             ("/users/ada/disable", {})):
            response = client.post(target, data, token=None)
            assert response.status_code == 403, target
            assert "Set-Cookie" not in response.headers
        assert _state(db, rootname) == before


def test_a_short_secret_key_is_refused():
    from acsq_mongo.errors import ConfigError
    from acsq_mongo.settings import load_settings

    with pytest.raises(ConfigError, match="too short"):
        create_app(load_settings(environ={}, mongo_uri="mongomock://short", secret_key="abc"))
