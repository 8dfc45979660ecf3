"""Security of the web app: escaped FITS values, checked image paths, neutral CSV cells.

Given an archive whose FITS headers hold HTML (a TARGNAME of
``<script>alert(1)</script>``, a PI name that closes an attribute, a header
value with an ``onerror``), every page that shows them shows them as text.
Given URLs that try to leave the data folder (``..``, encoded ``%2e%2e``,
absolute paths, symbolic links out of it), the image routes answer 404 and
never a byte of the file outside.
"""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest
from astropy.io import fits

from acsq_mongo.db.connection import connect
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings
from webapp import create_app
from webapp.images import checked_image_path
from webapp.security import CONTENT_SECURITY_POLICY

# Upper case, as a TARGNAME is stored (and HTML reads tags in any case).
SCRIPT = "<SCRIPT>ALERT(1)</SCRIPT>"
ATTRIBUTE = '"><svg onload=alert(2)>'
IMG = "<img src=x onerror=alert(3)>"
FORMULA = '=HYPERLINK("HTTP://EVIL.EXAMPLE","CLICK")'


def _set_keyword(path: Path, ext: int, keyword: str, value: str) -> None:
    stat = path.stat()
    with fits.open(path, mode="update") as hdul:
        hdul[ext].header[keyword] = value
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


@pytest.fixture
def hostile(settings, sample_archive_copy):
    """A sample archive with HTML and a formula in its headers, ingested with quicklook."""
    sample = sample_archive_copy
    victim = next(r for r in sample.rootnames if "flt" in r.filetypes and r.kind != "product")
    other = next(r for r in sample.rootnames if "flt" in r.filetypes
                 and r.promoted["proposid"] != victim.promoted["proposid"])
    for filetype in victim.filetypes:
        _set_keyword(sample.root / victim.path / f"{victim.rootname}_{filetype}.fits", 0,
                     "TARGNAME", SCRIPT)
    for r in sample.rootnames:          # the PI of the victim's whole proposal
        if r.promoted["proposid"] == victim.promoted["proposid"]:
            for filetype in r.filetypes:
                _set_keyword(sample.root / r.path / f"{r.rootname}_{filetype}.fits", 0,
                             "PR_INV_L", ATTRIBUTE)
    _set_keyword(sample.root / victim.path / f"{victim.rootname}_flt.fits", 1, "MYNOTE", IMG)
    for filetype in other.filetypes:
        _set_keyword(sample.root / other.path / f"{other.rootname}_{filetype}.fits", 0,
                     "TARGNAME", FORMULA)
    settings = settings.replace(archive=sample.root)
    assert run_ingest(settings, sample.root, quicklook=True).ok
    db = connect(settings)
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    return client, victim, other


def _page(client, url, status=200):
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    return response.get_data(as_text=True)


def _assert_escaped(html: str, payload: str, url: str, shown: bool = True) -> None:
    assert payload not in html, url
    for dangerous in ("<script>alert", "<svg onload", "<img src=x"):
        assert dangerous not in html.lower(), (url, dangerous)
    if shown:
        escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        escaped = escaped.replace('"', "&#34;")
        assert escaped in html, url


def test_html_in_fits_headers_is_shown_as_text_on_every_page(hostile):
    client, victim, _ = hostile
    proposid = victim.promoted["proposid"]
    pages = {
        "/archive/": (SCRIPT, ATTRIBUTE),
        f"/archive/{proposid}/": (SCRIPT, ATTRIBUTE),
        f"/archive/{proposid}/?limit=100": (SCRIPT,),
        f"/archive/{proposid}/{victim.rootname}/": (SCRIPT, ATTRIBUTE),
        f"/archive/{proposid}/{victim.rootname}/headers/": (SCRIPT, ATTRIBUTE, IMG),
        f"/query?rootname={victim.rootname}": (SCRIPT, ATTRIBUTE),
        f"/query?rootname={victim.rootname}&format=thumbnails": (SCRIPT,),
        f"/query?targname={SCRIPT}": (SCRIPT,),                 # reflected in the form
        "/query?targname=%3Cscript%3E*": (SCRIPT,),              # a wildcard finds it
        "/query": (),
        "/": (),
    }
    for url, payloads in pages.items():
        html = _page(client, url)
        for payload in (SCRIPT, ATTRIBUTE, IMG):
            _assert_escaped(html, payload, url, shown=payload in payloads)
    # The targname facet of the whole archive feeds the form's suggestions, escaped too.
    assert f'<option value="{SCRIPT}"' not in _page(client, "/query")


def test_reflected_input_in_messages_is_escaped(hostile):
    client, _, _ = hostile
    html = _page(client, f"/query?colour={SCRIPT}", 400)
    assert "unknown field" in html
    html = _page(client, "/query?" + SCRIPT.replace("<", "%3C") + "=1", 400)
    _assert_escaped(html, SCRIPT, "name", shown=False)
    html = _page(client, "/archive/%3Cscript%3E/", 404)
    _assert_escaped(html, SCRIPT, "404", shown=False)
    html = _page(client, f"/rootname?rootname={SCRIPT}", 400)
    _assert_escaped(html, SCRIPT, "rootname", shown=False)


def test_json_keeps_the_values_and_csv_neutralises_formulas(hostile):
    client, victim, other = hostile
    data = client.get(f"/query.json?rootname={victim.rootname}").get_json()
    assert data["rows"][0]["targname"] == SCRIPT           # data, not markup: kept as it is
    text = client.get(f"/query.csv?rootname={other.rootname}").get_data(as_text=True)
    row = next(csv.DictReader(io.StringIO(text)))
    assert row["targname"] == "'" + FORMULA
    header_csv = client.get(f"/archive/{other.promoted['proposid']}/{other.rootname}"
                            "/headers.csv").get_data(as_text=True)
    assert "'" + FORMULA.replace('"', '""') in header_csv
    assert "\n" + FORMULA not in header_csv and "," + FORMULA not in header_csv


# --- image paths ---------------------------------------------------------------------------

SECRET = b"TOP SECRET: not an image of the archive"


@pytest.fixture
def images(mock_settings, tmp_path):
    """A data folder with one real image, a secret file beside it, and symbolic links out."""
    data = mock_settings.data
    (data / "jpegs" / "10368").mkdir(parents=True)
    (data / "thumbnails" / "10368").mkdir(parents=True)
    (data / "logs").mkdir()
    jpeg = b"\xff\xd8\xff\xe0 a small jpeg \xff\xd9"
    (data / "jpegs" / "10368" / "j94f05bgq_flt.jpg").write_bytes(jpeg)
    (data / "thumbnails" / "10368" / "j94f05bgq_flt.thumb").write_bytes(jpeg)
    (data / "logs" / "ingest.log").write_bytes(SECRET)
    (data / "jpegs" / "10368" / "notes.txt").write_bytes(SECRET)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "leak.jpg").write_bytes(SECRET)
    (outside / "secret.txt").write_bytes(SECRET)
    os.symlink(outside, data / "jpegs" / "evil")
    os.symlink(outside / "leak.jpg", data / "jpegs" / "10368" / "link_flt.jpg")
    os.symlink(data / "jpegs" / "10368" / "j94f05bgq_flt.jpg",
               data / "jpegs" / "10368" / "inside_flt.jpg")
    app = create_app(mock_settings, config={"TESTING": True})
    return app.test_client(), data, jpeg


def test_quicklook_images_are_served_from_the_data_folder(images):
    client, _, jpeg = images
    response = client.get("/images/jpegs/10368/j94f05bgq_flt.jpg")
    assert response.status_code == 200 and response.data == jpeg
    assert response.mimetype == "image/jpeg"
    assert client.get("/images/thumbnails/10368/j94f05bgq_flt.thumb").data == jpeg
    assert client.get("/images/jpegs/10368/inside_flt.jpg").data == jpeg  # a link that stays in


@pytest.mark.parametrize("url", [
    "/images/../logs/ingest.log",
    "/images/jpegs/../logs/ingest.log",
    "/images/jpegs/10368/../../logs/ingest.log",
    "/images/jpegs/%2e%2e/%2e%2e/outside/secret.txt",
    "/images/jpegs/10368/%2e%2e%2f%2e%2e%2flogs%2fingest.log",
    "/images/jpegs/..%2f..%2f..%2foutside%2fleak.jpg",
    "/images/jpegs/10368/..%5c..%5clogs%5cingest.jpg",
    "/images//etc/passwd",
    "/images/%2fetc%2fpasswd",
    "/images/jpegs//etc/passwd.jpg",
    "/images/logs/ingest.log",
    "/images/jpegs/10368/notes.txt",
    "/images/jpegs/evil/leak.jpg",
    "/images/jpegs/10368/link_flt.jpg",
    "/images/jpegs/10368/j94f05bgq_flt.jpg%00.txt",
    "/images/jpegs/10368/.j94f05bgq_flt.jpg",
])
def test_paths_out_of_the_quicklook_folders_are_404(images, url):
    client, _, _ = images
    response = client.get(url, follow_redirects=True)   # (// is merged by a redirect first)
    assert response.status_code == 404, url
    assert SECRET not in response.data
    assert b"Traceback" not in response.data


def test_a_missing_image_answers_the_placeholder_picture(images):
    client, _, _ = images
    response = client.get("/images/thumbnails/10368/j8zh21xvq_flt.thumb")
    assert response.status_code == 404
    assert response.mimetype == "image/svg+xml" and b"no image" in response.data


def test_the_path_check_itself(images):
    _, data, _ = images
    good = checked_image_path(data, "jpegs/10368/j94f05bgq_flt.jpg")
    assert good == (data / "jpegs/10368/j94f05bgq_flt.jpg").resolve()
    assert checked_image_path(data, "thumbnails/unknown/j94f05bgq_flt.thumb") is not None
    for bad in ("jpegs/evil/leak.jpg", "jpegs/10368/link_flt.jpg", "../x.jpg", "/etc/x.jpg",
                "jpegs/10368/a.png", "jpegs/a/b/c.jpg", "JPEGS/10368/x.jpg", "", None,
                "jpegs/10368/x.jpg\n", "jpegs/１/x.jpg"):
        assert checked_image_path(data, bad) is None, bad


def test_a_document_naming_a_path_outside_shows_the_placeholder(db, settings):
    from query_documents import load, make_documents

    from acsq_mongo.ingest.store import set_quicklook

    docs = make_documents(3)
    load(db, docs)
    doc = docs[0]
    set_quicklook(db, doc["_id"], {"flt": "../../etc/passwd",
                                   "preview": {"flt": "javascript:alert(1)"},
                                   "thumbnail": "/etc/passwd"})
    client = create_app(settings, db=db, config={"TESTING": True}).test_client()
    html = _page(client, f"/archive/{doc['proposid']}/{doc['rootname']}/flt/")
    assert "/etc/passwd" not in html and "javascript:" not in html
    assert '<img src="/static/placeholder.svg"' in html


def test_url_parameters_never_become_url_for_options(hostile):
    from webapp.formats import page_url

    client, _, _ = hostile
    hostile_args = "_external=1&_anchor=x&_scheme=javascript&endpoint=y"
    # A page refuses a parameter it does not take, naming it (webapp.params) ...
    html = _page(client, f"/archive/?{hostile_args}", status=400)
    assert "_external" in html and "javascript:" not in html
    # ... and the links a page makes from its own parameters keep them plain parameters.
    app = client.application
    with app.test_request_context(f"/archive/?{hostile_args}"):
        link = page_url(sort="-n_rootnames")
    assert link.startswith("/archive/?_external=1&_anchor=x&_scheme=javascript&endpoint=y")
    assert "#" not in link and not link.startswith(("http:", "javascript:"))


def test_settings_are_read_when_the_wsgi_factory_is_called(monkeypatch, tmp_path):
    from webapp.wsgi import app_from_environment

    monkeypatch.setenv("ACSQ_MONGO_URI", "mongomock://wsgi")
    monkeypatch.setenv("ACSQ_DB", "wsgi_test")
    monkeypatch.setenv("ACSQ_DATA", str(tmp_path))
    monkeypatch.setenv("ACSQ_PAGE_SIZE", "7")
    monkeypatch.delenv("ACSQ_CONFIG", raising=False)
    app = app_from_environment()
    settings = app.extensions["acsq"].settings
    assert (settings.mongo_uri, settings.db, settings.page_size) == ("mongomock://wsgi",
                                                                     "wsgi_test", 7)
    assert app.test_client().get("/").status_code == 200
    assert load_settings(environ={}).mongo_uri != settings.mongo_uri
