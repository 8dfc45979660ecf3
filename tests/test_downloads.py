"""Getting the data: one file at /files/<rootname>/<filetype>, and a query's download script.

Given the sample archive ingested into the real server, the analyst downloads a file
whole and in part, is refused anything but a catalogued file of the archive, and runs
a query's download script with curl against the app served on 127.0.0.1: every
matching file arrives, byte for byte, and running it again fetches nothing twice.
"""

from __future__ import annotations

import functools
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from web_server import serving

from acsq_mongo.cli import main
from acsq_mongo.formats.downloads import download_url, script_lines
from acsq_mongo.ingest.run import run_ingest
from webapp import create_app

_FETCH = re.compile(r"^fetch '([^']+)' '([^']+)' (\d+)$", re.MULTILINE)


@pytest.fixture
def site(real_settings, sample_archive_copy):
    settings = real_settings.replace(archive=sample_archive_copy.root)
    assert run_ingest(settings, sample_archive_copy.root, quicklook=False).ok
    app = create_app(settings, config={"TESTING": True})
    return app.test_client(), settings, sample_archive_copy


def _file(archive, rootname, filetype) -> Path:
    r = next(r for r in archive.rootnames if r.rootname == rootname)
    return archive.root / r.path / f"{rootname}_{filetype}.fits"


def _with(archive, filetype):
    return next(r for r in archive.rootnames if filetype in r.filetypes)


def test_a_file_is_downloaded_whole_in_part_and_conditionally(site):
    client, _, archive = site
    r = _with(archive, "flt")
    expected = _file(archive, r.rootname, "flt").read_bytes()

    whole = client.get(f"/files/{r.rootname}/flt")
    assert whole.status_code == 200 and whole.data == expected
    assert whole.headers["Content-Disposition"] == f"attachment; filename={r.rootname}_flt.fits"
    assert whole.headers["Content-Type"] == "application/fits"
    assert whole.headers["Accept-Ranges"] == "bytes"

    part = client.get(f"/files/{r.rootname}/flt", headers={"Range": "bytes=2880-5759"})
    assert part.status_code == 206 and part.data == expected[2880:5760]
    assert part.headers["Content-Range"] == f"bytes 2880-5759/{len(expected)}"
    tail = client.get(f"/files/{r.rootname}/flt", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == expected[-100:]

    again = client.get(f"/files/{r.rootname}/flt",
                       headers={"If-None-Match": whole.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    # Any case of the rootname names the same file; the download keeps the archive's name.
    upper = client.get(f"/files/{r.rootname.upper()}/flt")
    assert upper.status_code == 200 and upper.data == expected


def test_a_product_s_drz_is_a_download_too(site):
    client, _, archive = site
    r = next(r for r in archive.rootnames if r.kind == "product" and "drz" in r.filetypes)
    response = client.get(f"/files/{r.rootname}/drz")
    assert response.status_code == 200
    assert response.data == _file(archive, r.rootname, "drz").read_bytes()


_REFUSED = [
    ("/files/{rootname}/fits", "Unknown filetype &#39;fits&#39;"),
    ("/files/{rootname}/{absent}", "has no {absent} file; its files:"),
    ("/files/zzzz99zzq/flt", "There is no rootname zzzz99zzq"),
    ("/files/%2e%2e/flt", "rootname"),
    ("/files/{rootname}/..%2fflt", "The requested URL was not found"),
    ("/files/..%2f..%2fetc%2fpasswd/flt", "The requested URL was not found"),
    ("/files/{rootname}/flt/../../../../etc/passwd", "The requested URL was not found"),
]


def test_anything_but_a_catalogued_file_is_refused(site):
    client, _, archive = site
    r = _with(archive, "flt")
    absent = next(ft for ft in ("drz", "crj", "raw", "flc") if ft not in r.filetypes)
    for url, message in _REFUSED:
        response = client.get(url.format(rootname=r.rootname, absent=absent))
        assert response.status_code == 404, url
        assert message.format(absent=absent) in response.get_data(as_text=True), url
        assert b"SIMPLE  =" not in response.data


def test_a_file_on_disk_that_the_catalog_does_not_list_is_refused(site):
    client, _, archive = site
    r = next(r for r in archive.rootnames if "flt" in r.filetypes and "drz" not in r.filetypes)
    stray = _file(archive, r.rootname, "drz")
    shutil.copy(_file(archive, r.rootname, "flt"), stray)     # on disk, never ingested
    response = client.get(f"/files/{r.rootname}/drz")
    assert response.status_code == 404
    assert f"Rootname {r.rootname} has no drz file" in response.get_data(as_text=True)


def test_a_symbolic_link_out_of_the_archive_is_refused(site, tmp_path):
    client, _, archive = site
    r = _with(archive, "flt")
    path = _file(archive, r.rootname, "flt")
    outside = tmp_path / "secret.fits"
    outside.write_bytes(b"SIMPLE  = not for download")
    path.unlink()
    path.symlink_to(outside)

    response = client.get(f"/files/{r.rootname}/flt")

    assert response.status_code == 404
    assert "leads outside the archive" in response.get_data(as_text=True)
    assert b"not for download" not in response.data


def test_a_symbolic_link_inside_the_archive_is_served(site):
    client, _, archive = site
    r = _with(archive, "flc")
    path = _file(archive, r.rootname, "flc")
    kept = path.with_name("kept_flc.fits")
    path.rename(kept)
    path.symlink_to(kept.name)
    response = client.get(f"/files/{r.rootname}/flc")
    assert response.status_code == 200 and response.data == kept.read_bytes()


def test_a_catalogued_file_missing_on_disk_gets_a_page_that_says_so(site):
    client, _, archive = site
    r = _with(archive, "raw")
    _file(archive, r.rootname, "raw").unlink()
    response = client.get(f"/files/{r.rootname}/raw")
    assert response.status_code == 404
    assert "is catalogued but missing from the archive on disk" in response.get_data(
        as_text=True)


def test_the_image_view_links_every_file_and_mast(site):
    client, settings, archive = site
    r = next(r for r in archive.rootnames if r.kind == "product")
    proposid = r.promoted["proposid"]
    html = client.get(f"/archive/{proposid}/{r.rootname}/").get_data(as_text=True)
    links = re.findall(r'href="/files/([a-z0-9]+)/([a-z]+)" download', html)
    assert links == [(r.rootname, ft) for ft in _in_order(r.filetypes)]
    for _, ft in links:
        assert client.head(f"/files/{r.rootname}/{ft}").status_code == 200
    dataset = settings.mast_dataset_url.format(ROOTNAME=r.rootname.upper()).replace("&", "&amp;")
    proposal = settings.mast_proposal_url.format(proposid=proposid).replace("&", "&amp;")
    assert f'href="{dataset}"' in html and f'href="{proposal}"' in html
    gallery = client.get(f"/archive/{proposid}/").get_data(as_text=True)
    assert f'href="{proposal}"' in gallery


def _in_order(filetypes):
    from acsq_mongo.fields import FILETYPES
    return [ft for ft in FILETYPES if ft in filetypes]


# --- the download script ----------------------------------------------------------------------

def _cli(capsys, settings, *args) -> str:
    env = {"ACSQ_MONGO_URI": settings.mongo_uri, "ACSQ_DB": settings.db,
           "ACSQ_ARCHIVE": str(settings.archive), "ACSQ_DATA": str(settings.data),
           "ACSQ_WEB_URL": "http://acsq.example.edu/quicklook/"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        assert main(["query", *args]) == 0
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return capsys.readouterr().out


def test_the_cli_script_lists_exactly_the_query_s_paths(site, capsys):
    _, settings, _ = site
    for filters in (["detector=WFC"], ["proposid__gte=1", "--filetype=flt,drz"],
                    ["exptime__gte=1e9"]):
        paths = _cli(capsys, settings, *filters, "--format", "paths").split()
        script = _cli(capsys, settings, *filters, "--format", "curl")

        fetches = _FETCH.findall(script)
        assert len(fetches) == len(paths)
        for (url, local, size), path in zip(fetches, paths, strict=True):
            name = Path(path).name.lower()
            rootname, filetype = re.fullmatch(r"(\w+)_(\w+)\.fits", name).groups()
            assert url == f"http://acsq.example.edu/quicklook/files/{rootname}/{filetype}"
            assert local == f"acsq_download/{rootname}/{rootname}_{filetype}.fits"
            assert int(size) == Path(path).stat().st_size
        assert f"# {len(paths)} file(s)" in script
        assert script.startswith("#!/bin/sh\n")
        assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0  # valid sh


def test_the_script_covers_every_match_not_one_page(site, capsys):
    client, settings, archive = site
    page = client.get("/query.json?filetype=flt&limit=3").get_json()
    assert page["count"] > 3
    script = client.get("/query.curl?filetype=flt&limit=3&offset=0").get_data(as_text=True)
    with_flt = [r for r in archive.rootnames if "flt" in r.filetypes]
    assert len(_FETCH.findall(script)) == len(with_flt) > 3


@pytest.fixture
def served(site):
    _, settings, archive = site
    with serving(create_app(settings)) as url:
        yield url, archive


def _run_script(script: Path, folder: Path) -> str:
    if shutil.which("curl") is None:
        pytest.fail("curl is missing: run scripts/install_system_deps.sh (make test does)")
    done = subprocess.run(["sh", str(script)], cwd=folder, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_web_script_downloads_every_file_and_a_rerun_fetches_nothing_twice(
        served, tmp_path):
    import urllib.request

    base, archive = served
    with urllib.request.urlopen(f"{base}/query.curl?detector=WFC&filetype=flt,drz") as answer:
        assert answer.headers["Content-Disposition"] == 'attachment; filename="acsq_download.sh"'
        text = answer.read().decode()
    script = tmp_path / "acsq_download.sh"
    script.write_text(text)
    expected = {(r.rootname, ft) for r in archive.rootnames
                if r.promoted["detector"] == "WFC" for ft in ("flt", "drz") if ft in r.filetypes}
    assert {tuple(url.split("/")[-2:]) for url, _, _ in _FETCH.findall(text)} == expected

    first = _run_script(script, tmp_path)
    assert first.count("get  ") == len(expected) and "have " not in first
    for rootname, ft in expected:
        local = tmp_path / "acsq_download" / rootname / f"{rootname}_{ft}.fits"
        assert local.read_bytes() == _file(archive, rootname, ft).read_bytes()

    # Cut one short (an interrupted download) and remove another: the rerun finishes
    # the first with a Range request, fetches the second, and skips every other.
    rootname, ft = sorted(expected)[0]
    cut = tmp_path / "acsq_download" / rootname / f"{rootname}_{ft}.fits"
    cut.write_bytes(cut.read_bytes()[:5000])
    gone_rootname, gone_ft = sorted(expected)[-1]
    (tmp_path / "acsq_download" / gone_rootname / f"{gone_rootname}_{gone_ft}.fits").unlink()

    second = _run_script(script, tmp_path)
    assert second.count("get  ") == 2 and second.count("have ") == len(expected) - 2
    assert cut.read_bytes() == _file(archive, rootname, ft).read_bytes()
    assert shlex.quote(str(cut.relative_to(tmp_path))) in second


def test_the_script_comments_out_files_missing_on_disk_or_leading_out_of_the_archive(tmp_path):
    archive = tmp_path / "archive"
    there = archive / "j94f" / "j94f05bgq" / "j94f05bgq_flt.fits"
    there.parent.mkdir(parents=True)
    there.write_bytes(b"x" * 2880)
    outside = tmp_path / "elsewhere.fits"
    outside.write_bytes(b"y" * 5760)
    link = there.with_name("j94f05bgq_raw.fits")
    link.symlink_to(outside)
    files = [("j94f05bgq", "raw", link), ("j94f05bgq", "flt", there),
             ("j94f05bgq", "flc", there.with_name("j94f05bgq_flc.fits"))]

    script = "".join(script_lines(files, functools.partial(download_url, "http://h/q"),
                                  command="acsq query x=1", archive=archive))

    assert _FETCH.findall(script) == [
        ("http://h/q/files/j94f05bgq/flt", "acsq_download/j94f05bgq/j94f05bgq_flt.fits", "2880")]
    assert "# not served (it leads outside the archive): acsq_download/j94f05bgq/" \
           "j94f05bgq_raw.fits" in script
    assert "# missing from the archive on disk: acsq_download/j94f05bgq/j94f05bgq_flc.fits" \
        in script
    assert "# 1 file(s) of 1 rootname(s), 2880 bytes; 2 catalogued file(s) missing or not " \
           "served" in script
