"""The web app, page by page, on both backends, with a sample archive ingested.

Given the session's sample archive (32 rootnames in 4 proposals, every
detector and filetype) ingested with quicklook images, an analyst visiting
the pages with Flask's test client finds what the generator wrote: the home
page counts, the proposals, each proposal's gallery, each image view and
header view, and the query page's results, as HTML, JSON and CSV.
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import re
from collections import Counter
from html import unescape

import pymongo
import pytest
from command_log import CommandLog

from acsq_mongo.db.collections import CATALOG, GALLERIES, INGEST_ERRORS, META, PROPOSALS, ROOTNAMES
from acsq_mongo.db.connection import connect
from acsq_mongo.db.localserver import free_port
from acsq_mongo.fields import FILETYPES, IMAGE_FILETYPES
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.query.spec import DEFAULT_COLUMNS
from acsq_mongo.settings import load_settings
from webapp import create_app
from webapp.display import path_breaks

_names = itertools.count()
PAGE_SIZE = 5


class Site:
    """An ingested sample archive and a test client of the app serving it."""

    def __init__(self, backend, settings, db, sample):
        self.backend = backend
        self.settings = settings
        self.db = db
        self.sample = sample
        self.app = create_app(settings, db=db, config={"TESTING": True})
        self.client = self.app.test_client()
        self.planned = {r.rootname: r for r in sample.rootnames}

    def get(self, url, status=200):
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code,
                                                 response.get_data(as_text=True)[:500])
        return response

    def html(self, url, status=200):
        return self.get(url, status).get_data(as_text=True)

    def json(self, url, status=200):
        response = self.get(url, status)
        assert response.mimetype == "application/json"
        return response.get_json()

    def csv(self, url):
        response = self.get(url)
        assert response.mimetype == "text/csv"
        assert "attachment" in response.headers["Content-Disposition"]
        return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


@pytest.fixture(scope="module", params=["mongomock", "real"])
def site(request, sample_archive, tmp_path_factory):
    work = tmp_path_factory.mktemp("web")
    if request.param == "real":
        uri = request.getfixturevalue("real_server_uri")
    else:
        uri = f"mongomock://{work.name}"
    settings = load_settings(environ={}, mongo_uri=uri, db=f"acsq_web_{os.getpid()}_"
                             f"{next(_names)}", data=work / "var", archive=sample_archive.root,
                             page_size=PAGE_SIZE)
    summary = run_ingest(settings, sample_archive.root, quicklook=True)
    assert summary.ok
    db = connect(settings)
    yield Site(request.param, settings, db, sample_archive)
    if request.param == "real":
        db.client.drop_database(settings.db)
        db.client.close()


def _proposals(site):
    return Counter(r.promoted["proposid"] for r in site.sample.rootnames)


def _members(site, proposid):
    rows = [r for r in site.sample.rootnames if r.promoted["proposid"] == proposid]
    return sorted(rows, key=lambda r: (r.promoted["date_obs"], r.rootname[:8]))


def _links(html, pattern):
    return re.findall(pattern, html)


# --- home -----------------------------------------------------------------------------

def test_the_home_page_counts_the_archive_and_plots_it(site):
    html = site.html("/")
    assert "<title>Home · ACS Quicklook</title>" in html
    n = len(site.sample.rootnames)
    assert f"{n} rootnames" in html and f"in {len(_proposals(site))} proposals" in html
    for detector, count in Counter(r.promoted["detector"] for r in site.sample.rootnames).items():
        assert re.search(rf'detector={detector}">{detector}</a></td>\s*<td class="num">{count}<',
                         html), detector
    for filetype, count in Counter(ft for r in site.sample.rootnames
                                   for ft in r.filetypes).items():
        assert re.search(rf'filetypes={filetype}">{filetype}</a></td>\s*<td class="num">{count}<',
                         html), filetype
    # The plot: one bar segment per (year, detector), its tooltip giving the count.
    by_year = Counter((r.promoted["date_obs"][:4], r.promoted["detector"])
                      for r in site.sample.rootnames)
    tooltips = dict(re.findall(r"<title>(\d{4} \w+): (\d+)</title>", html))
    assert tooltips == {f"{y} {d}": str(c) for (y, d), c in by_year.items()}
    assert "<svg" in html and "Latest ingest" in html and "No ingest has run yet" not in html
    # The menu bar is on the page, and nothing comes from another site.
    for link in ("/query", "/archive/", "/docs"):
        assert f'href="{link}"' in html
    assert not re.search(r'(src|href)="(https?:)?//(?!github\.com)', html)


def test_the_home_page_figures_as_json(site):
    data = site.json("/summary.json")
    assert data["n_rootnames"] == len(site.sample.rootnames)
    assert sum(d["count"] for d in data["by_year"]) == len(site.sample.rootnames)
    assert data["last_ingest"]["rootnames"] == len(site.sample.rootnames)
    assert data["n_ingest_errors"] == 0


# --- the archive --------------------------------------------------------------------------

def test_the_archive_lists_every_proposal_in_three_formats(site):
    html = site.html("/archive/")
    counts = _proposals(site)
    for proposid, n in counts.items():
        assert re.search(rf'<a href="/archive/{proposid}/">{proposid}</a></td>\s*'
                         rf'<td class="num">{n}</td>', html), proposid
    assert 'href="/archive.json"' in html and 'href="/archive.csv"' in html
    data = site.json("/archive.json")
    assert data["count"] == len(counts)
    assert {r["proposid"]: r["n_rootnames"] for r in data["rows"]} == dict(counts)
    assert [r["proposid"] for r in data["rows"]] == sorted(counts, reverse=True)
    assert site.json("/archive/?format=json") == data
    rows = site.csv("/archive.csv")
    assert {int(r["proposid"]): int(r["n_rootnames"]) for r in rows} == dict(counts)
    assert list(rows[0]) == ["proposid", "n_rootnames", "detectors", "date_min", "date_max",
                             "pr_inv_l", "pr_inv_f", "proposal_type", "targnames", "thumbnail"]
    by_count = site.json("/archive.json?sort=-n_rootnames")["rows"]
    assert [r["n_rootnames"] for r in by_count] == sorted(counts.values(), reverse=True)
    # A thumbnail per proposal, served from the data folder.
    thumbs = _links(html, r'<img src="(/images/thumbnails/[^"]+)"')
    assert len(thumbs) == len(counts)
    assert site.get(thumbs[0]).mimetype == "image/jpeg"


def test_a_gallery_pages_through_a_proposals_thumbnails(site):
    proposid, members = next((p, _members(site, p)) for p in sorted(_proposals(site)))
    seen = []
    url = f"/archive/{proposid}/"
    while url:
        html = site.html(url)
        assert f"<title>Proposal {proposid} · ACS Quicklook</title>" in html
        seen += _links(html, rf'<figcaption>\s*<a href="/archive/{proposid}/(\w+)/">')
        nxt = re.search(r'<a href="([^"]+)" rel="next">', html)
        url = unescape(nxt.group(1)) if nxt else None
    assert seen == [r.rootname for r in members]          # every one, by date, once
    rows = site.csv(f"/archive/{proposid}.csv")
    assert [row["rootname"] for row in rows] == seen
    assert [row["rootname"] for row in site.csv(f"/archive/{proposid}.csv?offset=1&limit=2")
            ] == seen[1:3]
    assert f"1–{PAGE_SIZE} of {len(members)}" in site.html(f"/archive/{proposid}/")
    # Thumbnails: a JPEG for rootnames with an flt, the placeholder for the others.
    html = site.html(f"/archive/{proposid}/?limit=50")
    images = _links(html, r'<img src="([^"]+)" width="128"')
    assert len(images) == len(members)
    for member, src in zip(members, images, strict=True):
        if "flt" in member.filetypes:
            assert src == f"/images/thumbnails/{proposid}/{member.rootname}_flt.thumb"
            assert site.get(src).data[:2] == b"\xff\xd8"
        else:
            assert src == "/static/placeholder.svg"


def test_a_gallery_filters_and_sorts(site):
    proposid = max(_proposals(site), key=lambda p: _proposals(site)[p])
    members = _members(site, proposid)
    f1 = Counter(r.promoted["filter1"] for r in members).most_common(1)[0][0]
    data = site.json(f"/archive/{proposid}.json?filter1={f1}&sort=-exptime&limit=50")
    expected = [r for r in members if r.promoted["filter1"] == f1]
    assert data["count"] == len(expected)
    assert {r["rootname"] for r in data["rows"]} == {r.rootname for r in expected}
    exptimes = [r["exptime"] for r in data["rows"]]
    assert exptimes == sorted(exptimes, reverse=True)
    assert data["proposal"]["proposid"] == proposid
    assert {d["value"] for d in data["facets"]["detector"]} == {members[0].promoted["detector"]}
    # A date range, as the gallery's From and To fields send it.
    day = members[-1].promoted["date_obs"][:10]
    late = site.json(f"/archive/{proposid}.json?date_obs__gte={day}&date_obs__lte={day}")
    assert {r["rootname"] for r in late["rows"]} == {
        r.rootname for r in members if r.promoted["date_obs"][:10] == day}
    target = members[0].promoted["targname"]
    html = site.html(f"/archive/{proposid}/?targname={target}&limit=50")
    shown = _links(html, rf'<figcaption>\s*<a href="/archive/{proposid}/(\w+)/">')
    assert sorted(shown) == sorted(r.rootname for r in members
                                   if r.promoted["targname"] == target)
    assert f'<option value="{f1}" selected>' not in html       # not filtered by filter1
    assert '<option value="" >' not in html
    rows = site.csv(f"/archive/{proposid}.csv?filter1={f1}")
    assert sorted(r["rootname"] for r in rows) == sorted(r.rootname for r in expected)
    assert "quicklook" not in rows[0] and "exptime" in rows[0]


# --- the image view --------------------------------------------------------------------------

def test_the_image_view_shows_the_quicklook_metadata_files_and_neighbours(site):
    proposid = sorted(_proposals(site))[0]
    members = _members(site, proposid)
    with_flt = [i for i, r in enumerate(members) if "flt" in r.filetypes and 0 < i]
    i = with_flt[0]
    r = members[i]
    html = site.html(f"/archive/{proposid}/{r.rootname}/")
    assert f"<title>{r.rootname} flt · ACS Quicklook</title>" in html
    preview = f"/images/jpegs/{proposid}/{r.rootname}_flt_preview.jpg"
    full = f"/images/jpegs/{proposid}/{r.rootname}_flt.jpg"
    assert f'<a href="{full}" title' in html and f'<img src="{preview}"' in html
    assert site.get(preview).mimetype == "image/jpeg" and site.get(full).data[:2] == b"\xff\xd8"
    for field in ("detector", "filter1", "targname", "aperture"):
        assert f"<td>{r.promoted[field]}</td>" in html
    assert f'<a href="/archive/{proposid}/">{proposid}</a>' in html
    for ft in r.filetypes:
        path = site.sample.root / r.path / f"{r.rootname}_{ft}.fits"
        assert (f'<code class="path" title="Click to select the path">{path_breaks(path)}</code>'
                in html)
    # Views of the raw, flt and flc files it has, and its headers.
    for ft in ("raw", "flc"):
        if ft in r.filetypes:
            assert f'href="/archive/{proposid}/{r.rootname}/{ft}/"' in html
            assert site.get(f"/archive/{proposid}/{r.rootname}/{ft}/").status_code == 200
    assert f'href="/archive/{proposid}/{r.rootname}/headers/"' in html
    # Previous and next, by date, within the proposal.
    assert f'rel="prev" href="/archive/{proposid}/{members[i - 1].rootname}/"' in html
    if i + 1 < len(members):
        assert f'rel="next" href="/archive/{proposid}/{members[i + 1].rootname}/"' in html
    assert f"{i + 1} of {len(members)} in" in html


def test_an_association_links_its_product_and_its_members(site):
    products = [r for r in site.sample.rootnames if r.kind == "product" and r.members]
    assert products
    for product in products:
        pid = product.promoted["proposid"]
        html = site.html(f"/archive/{pid}/{product.rootname}/")
        assert f"Association {product.rootname.upper()}" in html
        # The asn table, read at ingest: each member linked, the product itself in bold.
        section = html.split("<h2>Association")[1].split("<h2>")[0]
        assert f"<strong>{product.rootname}</strong>" in section
        linked = re.findall(r'href="/rootname/(\w+)">\1</a>', section)
        assert set(linked) == set(product.members)
        member = product.members[-1]
        html = site.html(f"/archive/{pid}/{member}/")
        assert f'href="/rootname/{product.rootname}">{product.rootname}</a>' in html
        assert f"<strong>{member}</strong>" in html
    single = next(r for r in site.sample.rootnames if r.kind == "single")
    html = site.html(f"/archive/{single.promoted['proposid']}/{single.rootname}/")
    assert "<h2>Association" not in html


def test_a_product_s_image_view_shows_its_drz_and_has_a_page_per_image_filetype(site):
    product = next(r for r in site.sample.rootnames if r.kind == "product")
    proposid = product.promoted["proposid"]
    html = site.html(f"/archive/{proposid}/{product.rootname}/")
    assert f"{product.rootname}_drz_preview.jpg" in html           # drz first, as the thumbnail
    tabs = re.findall(r'class="tab(?: current)?"[^>]*>(\w+)<', html)
    images = [ft for ft in IMAGE_FILETYPES if ft in product.filetypes]
    assert tabs == images                                          # then "all headers"
    for ft in images:
        page = site.html(f"/archive/{proposid}/{product.rootname}/{ft}/")
        assert f"{product.rootname}_{ft}_preview.jpg" in page
        assert f'<span class="tab current">{ft}</span>' in page
    site.get(f"/archive/{proposid}/{product.rootname}/flt/", 404)
    site.get(f"/archive/{proposid}/{product.rootname}/asn/", 404)   # a file, but no image
    raw_only = next(r for r in site.sample.rootnames if "raw" in r.filetypes)
    html = site.html(f"/archive/{raw_only.promoted['proposid']}/{raw_only.rootname}/raw/")
    assert f"{raw_only.rootname}_raw_preview.jpg" in html


def test_a_rootname_without_image_files_shows_the_placeholder(site):
    r = next(r for r in site.sample.rootnames if "flt" in r.filetypes)
    kept = site.db[CATALOG].find_one({"_id": r.rootname[:8]})
    site.db[CATALOG].update_one({"_id": r.rootname[:8]},
                                {"$set": {"filetypes": ["spt"]}, "$unset": {"quicklook": ""}})
    try:
        html = site.html(f"/archive/{r.promoted['proposid']}/{r.rootname}/")
    finally:
        site.db[CATALOG].replace_one({"_id": kept["_id"]}, kept)
    assert '<img src="/static/placeholder.svg"' in html and "has no image file" in html


def test_rootname_urls_lead_to_the_rootnames_own_page(site):
    r = site.sample.rootnames[3]
    proposid = r.promoted["proposid"]
    own = f"/archive/{proposid}/{r.rootname}/"
    for url in (f"/archive/1/{r.rootname}/", f"/archive/{proposid}/{r.rootname.upper()}/",
                f"/archive/{proposid}/{r.rootname[:8]}/"):
        response = site.get(url, 301)
        assert response.headers["Location"] == own
    assert site.get(f"/rootname/{r.rootname.upper()}", 302).headers["Location"] == own
    assert site.get(f"/rootname?rootname={r.rootname}", 302).headers["Location"] == own
    assert site.get(f"/archive/1/{r.rootname}/headers/", 301).headers["Location"] == (
        own + "headers/")


# --- the header view ------------------------------------------------------------------------

def test_the_header_view_holds_every_keyword_of_every_file(site):
    r = next(r for r in site.sample.rootnames if len(r.filetypes) >= 4)
    proposid = r.promoted["proposid"]
    html = site.html(f"/archive/{proposid}/{r.rootname}/headers/")
    assert f"<title>{r.rootname} headers · ACS Quicklook</title>" in html
    doc = site.db[ROOTNAMES].find_one({"_id": r.rootname[:8]})
    n_cards = sum(len(h) for ft in doc["headers"].values() for h in ft.values())
    assert html.count('<td class="kw">') == n_cards
    for ft in r.filetypes:
        for ext in range(r.n_hdus[ft]):
            assert f'<section class="header-table" id="{ft}-{ext}">' in html
    assert 'id="header-filter"' in html and 'data-filter="#header-tables"' in html
    data = site.json(f"/archive/{proposid}/{r.rootname}/headers.json")
    assert list(data["headers"]) == [ft for ft in FILETYPES if ft in r.filetypes]
    assert data["headers"]["spt"]["0"]["ROOTNAME"].lower() == r.rootname
    rows = site.csv(f"/archive/{proposid}/{r.rootname}/headers.csv")
    assert len(rows) == n_cards and list(rows[0]) == ["filetype", "ext", "keyword", "value",
                                                      "comment", "type"]
    detector = next(row for row in rows if row["keyword"] == "DETECTOR")
    assert (detector["value"], detector["type"]) == (r.promoted["detector"], "str")
    # Booleans as FITS writes them.
    assert re.search(r'<td class="kw">SIMPLE(?: <span class="kw-links">.*?</span>)?</td>'
                     r'\s*<td class="value">T</td>', html)


# --- the query page -----------------------------------------------------------------------

def test_the_query_form_alone(site):
    html = site.html("/query")
    assert "<title>Query · ACS Quicklook</title>" in html
    for name in ("rootname", "targname", "pr_inv_l", "proposid", "proposal_type", "detector",
                 "aperture", "filter1", "filter2", "imagetyp", "obstype", "date_op",
                 "exptime_op", "ra", "dec", "radius", "kw_key", "kw_op", "col", "format"):
        assert f'name="{name}"' in html, name
    assert 'method="get"' in html and "slower" in html
    # Suggestions for the text fields come from the archive itself.
    filters = {r.promoted["filter1"] for r in site.sample.rootnames}
    assert all(f'<option value="{f}">' in html for f in filters)


def test_core_parameters_work_directly_and_in_every_format(site):
    hrc = sorted(r.rootname for r in site.sample.rootnames if r.promoted["detector"] == "HRC"
                 and r.promoted["exptime"] >= 100)
    data = site.json("/query?detector=HRC&exptime__gte=100&format=json&limit=100")
    assert data["count"] == len(hrc) and sorted(r["rootname"] for r in data["rows"]) == hrc
    assert data["columns"][:4] == ["rootname", "date_obs", "detector", "filter1"]
    assert {f["value"] for f in data["facets"]["detector"]} == {"HRC"}
    assert site.json("/query.json?detector=HRC&exptime__gte=100&limit=100") == data
    rows = site.csv("/query.csv?detector=HRC&exptime__gte=100")
    assert sorted(r["rootname"] for r in rows) == hrc and len(rows[0]) == len(data["columns"])
    html = site.html("/query?detector=HRC&exptime__gte=100")
    assert f"<title>Query: {len(hrc)} rootnames · ACS Quicklook</title>" in html
    assert "<code>acsq query detector=HRC exptime__gte=100</code>" in html
    assert 'href="/query.json?detector=HRC&amp;exptime__gte=100"' in html
    assert 'href="/query.csv?detector=HRC&amp;exptime__gte=100"' in html
    linked = _links(html, r'<td><a href="/archive/\w+/(\w+)/">')
    assert linked == sorted(hrc, key=lambda n: (site.planned[n].promoted["date_obs"], n))[
        :PAGE_SIZE]
    # A core filter typed in the URL is shown in the form's own field, so a change keeps it.
    assert 'name="exptime_from" value="100"' in html
    # A list typed as __in fills its field too (a comma list there is the same), not a
    # hidden input (issue 25).
    html = site.html("/query?detector=HRC&proposid__in=1,2")
    assert '<input name="proposid" value="1,2"' in html and 'type="hidden"' not in html


def test_the_form_fields_become_core_filters(site):
    wfc = [r for r in site.sample.rootnames if r.promoted["detector"] == "WFC"]
    dates = sorted(r.promoted["date_obs"] for r in wfc)
    start, stop = dates[2][:10], dates[-3][:10]
    expected = sorted(r.rootname for r in wfc if start <= r.promoted["date_obs"][:10] <= stop
                      and r.promoted["exptime"] > 0)
    url = (f"/query?detector=WFC&date_op=between&date_from={start}&date_to={stop}"
           "&exptime_op=>&exptime_from=0&format=json&limit=100")
    data = site.json(url)
    assert sorted(r["rootname"] for r in data["rows"]) == expected
    assert ["date_obs__gte", start] in data["query"] and ["exptime__gt", "0"] in data["query"]
    # Any header keyword: the flt primary header's CCDAMP, as the generator wrote it.
    r = next(r for r in wfc if "flt" in r.filetypes)
    doc = site.db[ROOTNAMES].find_one({"_id": r.rootname[:8]})
    ccdamp = doc["headers"]["flt"]["0"]["CCDAMP"]
    url = ("/query?kw_filetype=flt&kw_ext=0&kw_key=CCDAMP&kw_op=exact&kw_value=" + ccdamp
           + "&kw_filetype=flt&kw_ext=0&kw_key=&kw_op=exact&kw_value="
           + "&col=rootname&col=detector&extra_columns=headers.flt.0.CCDAMP&format=json&limit=100")
    data = site.json(url)
    assert data["columns"] == ["rootname", "detector", "headers.flt.0.CCDAMP"]
    assert r.rootname in [row["rootname"] for row in data["rows"]]
    assert {row["headers.flt.0.CCDAMP"] for row in data["rows"]} == {ccdamp}
    # The standard columns plus a header keyword, in the HTML table.
    html = site.html("/query?detector=SBC&extra_columns=headers.raw.0.CCDAMP")
    assert 'title="headers.raw.0.CCDAMP">headers.raw.0.CCDAMP</a>' in html  # sortable
    assert html.count("<th>") == len(DEFAULT_COLUMNS) + 1


def test_results_page_with_facets_beside_them(site):
    n_wfc = sum(r.promoted["detector"] == "WFC" for r in site.sample.rootnames)
    html = site.html("/query?obstype=*")
    facet = re.search(r'<a href="/query\?obstype=%2A&amp;detector=WFC">WFC</a> '
                      r'<span class="n">(\d+)</span>', html)
    assert facet and int(facet.group(1)) == n_wfc
    first = site.json("/query.json?detector=WFC&sort=rootname")
    second = site.json(f"/query.json?detector=WFC&sort=rootname&offset={PAGE_SIZE}")
    assert first["next_offset"] == PAGE_SIZE and first["count"] == n_wfc
    names = [r["rootname"] for r in first["rows"] + second["rows"]]
    assert names == sorted(names) and len(set(names)) == 2 * PAGE_SIZE
    html = site.html(f"/query?detector=WFC&sort=rootname&offset={PAGE_SIZE}")
    assert 'href="/query?detector=WFC&amp;sort=rootname" rel="prev"' in html
    assert f'href="/query?detector=WFC&amp;sort=rootname&amp;offset={2 * PAGE_SIZE}"' in html


def test_thumbnail_results_link_to_the_image_views(site):
    html = site.html("/query?detector=HRC&format=thumbnails&limit=50")
    hrc = [r for r in site.sample.rootnames if r.promoted["detector"] == "HRC"]
    figures = _links(html, r'<figcaption>\s*<a href="/archive/(\d+)/(\w+)/">')
    assert sorted(name for _, name in figures) == sorted(r.rootname for r in hrc)
    assert all(int(p) == site.planned[name].promoted["proposid"] for p, name in figures)


@pytest.mark.parametrize(("url", "message"), [
    ("/query?detector__near=WFC", "unknown op"),
    ("/query?exptime__gte=long", "exptime__gte"),
    ("/query?colour=red", "unknown field"),
    ("/query?date_op=between&date_from=2005-13", "date"),
    ("/query?exptime_op=%3C&exptime_to=5", "only for 'between'"),
    ("/query?kw_filetype=xyz&kw_ext=0&kw_key=CCDGAIN&kw_op=exact&kw_value=2", "valid filetypes"),
    ("/query?kw_filetype=flt&kw_ext=0&kw_key=&kw_op=exact&kw_value=2", "give the keyword"),
    ("/query?kw_filetype=flt&kw_ext=0&kw_key=CCDGAIN&kw_op=gte&kw_value=", "give a value"),
    ("/query?ra=10&dec=100&radius=1", "dec"),
    ("/query?format=xml", "valid formats"),
    ("/query?sort=-colour", "valid sort fields"),
])
def test_bad_input_shows_the_form_again_with_the_message(site, url, message):
    html = site.html(url, 400)
    alert = re.search(r'<p class="alert" role="alert"><b>Please check the query:</b> (.*?)</p>',
                      html, re.S)
    assert alert and message in unescape(alert.group(1))
    assert '<form class="query-form"' in html and "<details open>" in html


def test_bad_input_to_json_and_csv_is_a_json_or_plain_400(site):
    data = site.json("/query.json?detector__near=WFC", 400)
    assert data["status"] == 400 and "valid ops" in data["error"]
    html = site.html("/query.csv?exptime=abc", 400)
    assert "exptime" in html and "Traceback" not in html


# --- errors ------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [
    "/archive/99999/", "/archive/99999.json", "/archive/abc/", "/archive/10368/zzzz99zzq/",
    "/archive/10368/zzzz99zzq/headers/", "/rootname/zzzz99zzq", "/no/such/page",
    "/archive/10368/j$x/",
])
def test_unknown_proposals_rootnames_and_pages_are_404_pages(site, url):
    response = site.get(url, 404)
    if url.endswith(".json"):
        assert response.get_json()["status"] == 404
    else:
        html = response.get_data(as_text=True)
        assert "<h1>Not found</h1>" in html and "Traceback" not in html


def test_a_malformed_rootname_to_go_to_is_a_400_page(site):
    html = site.html("/rootname?rootname=../../x", 400)
    assert "8 or 9 letters and digits" in html


def test_the_database_down_is_a_503_page(tmp_path):
    settings = load_settings(environ={}, mongo_uri=f"mongodb://127.0.0.1:{free_port()}",
                             db="down", data=tmp_path, server_timeout=0.3)
    client = create_app(settings, config={"TESTING": True}).test_client()
    for url in ("/", "/archive/", "/query?detector=WFC", "/archive/10368/j94f05bgq/"):
        response = client.get(url)
        html = response.get_data(as_text=True)
        assert response.status_code == 503, url
        assert "The database is not answering" in html and "cannot reach MongoDB" in html
        assert "Traceback" not in html and 'File "' not in html
    response = client.get("/query.json?detector=WFC")
    assert response.status_code == 503 and "cannot reach MongoDB" in response.get_json()["error"]
    # Pages that need no data still work.
    assert client.get("/docs").status_code == 200
    assert client.get("/static/style.css").status_code == 200


def test_the_query_guide_links_to_the_full_guide_when_it_is_served(site):
    plain = create_app(site.settings, db=site.db).test_client().get("/docs")
    assert plain.status_code == 200 and 'id="guide"' not in plain.get_data(as_text=True)
    settings = site.settings.replace(docs_url="https://acsq.example.org/guide/")
    html = create_app(settings, db=site.db).test_client().get("/docs").get_data(as_text=True)
    assert '<a href="https://acsq.example.org/guide/">' in html
    assert "exptime" in html  # still the query core's own tables


def test_an_unexpected_error_is_a_plain_500_page(site):
    app = create_app(site.settings, db=site.db)

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret detail of the failure")

    response = app.test_client().get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500 and "Something went wrong" in html
    assert "secret detail" not in html and "Traceback" not in html


# --- what each page costs the server -------------------------------------------------------

def _scans(seen):
    """Commands that are not a lookup by one _id (a scan, even an indexed one)."""
    return [(c[0], c[1]) for c in seen
            if not (c[2] is not None and set(c[2]) == {"_id"} and not isinstance(c[2]["_id"],
                                                                                  dict))]


@pytest.mark.parametrize("site", ["real"], indirect=True)
def test_pages_read_whole_documents_only_by_id_and_scan_the_catalog_at_most_twice(site):
    """What each page sends: whole documents only by _id, the catalog at most twice."""
    listener = CommandLog()
    client = pymongo.MongoClient(site.settings.mongo_uri, event_listeners=[listener])
    try:
        app = create_app(site.settings, db=client[site.settings.db], config={"TESTING": True})
        test = app.test_client()
        r = next(r for r in site.sample.rootnames if "flt" in r.filetypes)
        proposid = r.promoted["proposid"]
        pages = {
            # (count_documents is an aggregate)
            # The figures of the last ingest run (meta.summary) and a live count of errors.
            "/": [(INGEST_ERRORS, "aggregate")],
            "/archive/": [(PROPOSALS, "find")],
            # A proposal's gallery: its rows by date, written by the last ingest run
            # (galleries, by _id), which its other pages and its image views share.
            f"/archive/{proposid}/": [],
            f"/archive/{proposid}/?offset={PAGE_SIZE}": [],
            f"/archive/{proposid}/{r.rootname}/": [],
            # Filtered: one find of every match gives the count, the facets and the page
            # (a $facet aggregation counts as well when more than page._ONE_SCAN_MAX match).
            f"/archive/{proposid}/?filter1__startswith=F": [(CATALOG, "find")],
            f"/archive/{proposid}/{r.rootname}/headers/": [],
            # A results page does not wait for the form's suggestions...
            "/query?detector=WFC&filter1__startswith=F": [(CATALOG, "find")],
            # ...and the form's come from the last ingest run's summary too.
            "/query": [],
        }
        for url, expected in pages.items():
            listener.seen.clear()
            assert test.get(url).status_code == 200, url
            assert sorted(_scans(listener.seen)) == sorted(expected), url
            assert all(c[0] in (CATALOG, ROOTNAMES, PROPOSALS, GALLERIES, META, INGEST_ERRORS)
                       for c in listener.seen)
            on_rootnames = [c for c in listener.seen if c[0] == ROOTNAMES]
            # The header view reads the whole document, the image view its gain and
            # orientation: each one _id lookup.
            whole = url.endswith("headers/") or url == f"/archive/{proposid}/{r.rootname}/"
            assert len(on_rootnames) == (1 if whole else 0), url
            # The same page again: everything from the cache but the generation's _id lookup.
            listener.seen.clear()
            assert test.get(url).status_code == 200
            assert _scans(listener.seen) == [], url
    finally:
        client.close()


def test_the_home_page_and_json_agree_with_the_store(site):
    data = site.json("/summary.json")
    assert data["n_rootnames"] == site.db[CATALOG].count_documents({})
    assert data["n_proposals"] == site.db[PROPOSALS].count_documents({})
    assert sum(d["count"] for d in data["by_filetype"]) == data["n_files"]
    assert data["n_files"] == sum(len(d["filetypes"]) for d in site.db[CATALOG].find())
