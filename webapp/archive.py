"""The archive: every proposal, a proposal's gallery, a rootname's image view and headers.

``/archive/``
    Every proposal (the ``proposals`` summaries), sortable.
``/archive/<proposid>/``
    A proposal's thumbnails: filtered by detector, filter, aperture, target
    and date, sorted by date or exposure time, paginated. The filters are the
    query core's own parameters (``detector=WFC``, ``date_obs__gte=2005``), so
    any of its filters work here too.
``/archive/<proposid>/<rootname>/`` and ``.../<filetype>/``
    The image view: the quicklook preview (linked to the full-size JPEG) of
    any image filetype (raw, flt, flc, crj, crc, drz, drc; by default the flt,
    else the drz or drc), the key metadata, the rootname's files (each a
    download link, :mod:`webapp.files`), links to the dataset and proposal in
    MAST, previous/next within the proposal, and its anomaly flags with their
    history (and, for a signed-in tagger, the form that changes them:
    :mod:`webapp.tags`).
``/archive/<proposid>/<rootname>/headers/``
    Every header of every file, as keyword/value/comment/type tables;
    ``?q=CCD`` filters them (the filter box keeps the URL in step, to share).

Lists also answer ``.json`` and ``.csv``. Rootnames without a proposal ID
live under ``/archive/unknown/``. All data comes through the query core.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for

from acsq_mongo.browse.proposal_rows import (
    answerable,
    gallery_summary,
    proposal_filter,
    proposal_page,
    proposal_rows,
)
from acsq_mongo.browse.proposals import (
    PROPOSAL_COLUMNS,
    UNKNOWN_PROPOSAL,
    list_proposals,
    parse_proposal_sort,
    parse_proposid,
)
from acsq_mongo.browse.rootname import (
    association,
    catalog_document,
    header_tables,
    key_header_values,
    neighbours,
    quicklook_filetypes,
    rootname_id,
    whole_document,
)
from acsq_mongo.fields import (
    FILETYPES,
    IMAGE_FILETYPES,
    SEED_OUTPUT_COLUMNS,
    THUMBNAIL_FILETYPES,
)
from acsq_mongo.formats.render import result_dict
from acsq_mongo.query import core
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.files import file_path
from acsq_mongo.query.spec import QuerySpec, param_pairs
from acsq_mongo.tags.flags import MAX_COMMENT
from acsq_mongo.tags.history import rootname_history
from acsq_mongo.tags.proposals import pending_proposals
from webapp.explore_regions import picture_regions
from webapp.formats import (
    csv_response,
    format_urls,
    json_response,
    requested_format,
    suffix_rule,
)
from webapp.state import state

__all__ = ["bp", "GALLERY_COLUMNS", "GALLERY_SORTS", "proposal_segment", "mast_url"]

bp = Blueprint("archive", __name__)

#: What a gallery lists (and its JSON and CSV carry, unless ``columns`` says otherwise).
GALLERY_COLUMNS = ("rootname", "date_obs", "detector", "aperture", "filter1", "filter2",
                   "targname", "exptime", "obstype", "expflag", "filetypes", "anomalies",
                   "proposed", "quicklook")
#: The gallery's sort choices: value -> label.
GALLERY_SORTS = {
    "date_obs": "date, oldest first",
    "-date_obs": "date, newest first",
    "-exptime": "exposure time, longest first",
    "exptime": "exposure time, shortest first",
}
# The image view's metadata: the seed's output columns, then bookkeeping.
_METADATA = tuple(c for c in SEED_OUTPUT_COLUMNS if c != "rootname") + (
    "expflag", "year", "first_ingest_date", "last_ingest_date", "n_errors")


def proposal_segment(proposid: int | None) -> str:
    """Return how a URL names a proposal: its ID, or ``unknown``."""
    return UNKNOWN_PROPOSAL if proposid is None else str(proposid)


def mast_url(pattern: str, rootname: str | None = None, proposid: int | None = None
             ) -> str | None:
    """Return a MAST link from a URL pattern setting, or None if it cannot be filled.

    ``{rootname}``, ``{ROOTNAME}`` (upper case, as MAST spells datasets) and
    ``{proposid}`` are replaced; a pattern naming anything else, or a value the
    rootname lacks, gives no link.
    """
    values = {"rootname": rootname, "ROOTNAME": rootname.upper() if rootname else None,
              "proposid": proposid}
    try:
        return pattern.format_map({k: v for k, v in values.items() if v is not None})
    except (KeyError, IndexError, ValueError):
        return None


def _proposid(text: str) -> int | None:
    try:
        return parse_proposid(text)
    except QueryError:
        abort(404, description=f"{text[:20]!r} is not a proposal ID.")


# --- /archive/ -----------------------------------------------------------------------------

@bp.route("/archive/")
@bp.route(suffix_rule("/archive"))
def proposals(fmt: str | None = None):
    """Every proposal, with its rootnames, detectors, dates and a thumbnail."""
    fmt = requested_format(fmt)
    sort = parse_proposal_sort(request.args.get("sort"))
    st = state()
    rows = list_proposals(st.db, sort, st.cache)
    if fmt == "json":
        return json_response({"count": len(rows), "columns": list(PROPOSAL_COLUMNS),
                              "rows": [{c: r.get(c) for c in PROPOSAL_COLUMNS} for r in rows]})
    if fmt == "csv":
        return csv_response(PROPOSAL_COLUMNS, rows, "acsq_proposals.csv")
    return render_template("archive.html", rows=rows, sort=sort, formats=format_urls(),
                           total=sum(r.get("n_rootnames") or 0 for r in rows))


# --- /archive/<proposid>/ --------------------------------------------------------------------

def _gallery_spec(proposid: int | None, fmt: str) -> QuerySpec:
    pairs = [proposal_filter(proposid)]
    pairs += [(n, v) for n, v in param_pairs(request.args) if n != "format"]
    spec = QuerySpec.parse(pairs)
    if "columns" not in request.args:
        columns = GALLERY_COLUMNS if fmt != "csv" else GALLERY_COLUMNS[:-1]
        spec = spec.replace(columns=QuerySpec.parse([("columns", ",".join(columns))]).columns)
    return spec


@bp.route("/archive/<proposid>/")
@bp.route(suffix_rule("/archive/<proposid>"))
def gallery(proposid: str, fmt: str | None = None):
    """A proposal's thumbnails, filtered, sorted and paginated."""
    pid = _proposid(proposid)
    fmt = requested_format(fmt)
    st = state()
    summary = gallery_summary(st.db, pid, st.cache)
    spec = _gallery_spec(pid, fmt)
    if summary is None:
        everything = QuerySpec.parse([proposal_filter(pid)])
        if core.count(st.db, everything, st.cache) == 0:
            abort(404, description=f"There is no proposal {proposid} in the archive.")
    n_rootnames = summary.get("n_rootnames") if summary else None
    if fmt == "csv":
        if answerable(spec, pid, n_rootnames):       # the rows the gallery's pages share
            rows = proposal_rows(st.db, pid, st.cache)
            rows = rows[spec.offset: spec.offset + spec.limit if spec.limit else None]
        else:
            rows = core.iter_rows(st.db, spec, st.cache)
        return csv_response(spec.column_names, rows, f"acsq_proposal_{proposal_segment(pid)}.csv")
    # The unfiltered gallery by date: every page from one scan of the proposal's rootnames.
    result = proposal_page(st.db, spec, st.settings, pid, n_rootnames, st.cache)
    if result is None:                                # (a Result with no rows is falsy)
        result = core.run(st.db, spec, st.settings, cache=st.cache)
    if fmt == "json":
        return json_response({"proposal": summary, **result_dict(result)})
    return render_template(
        "gallery.html", proposid=pid, segment=proposal_segment(pid), summary=summary,
        mast_proposal=mast_url(st.settings.mast_proposal_url, None, pid),
        result=result, sorts=GALLERY_SORTS, sort=request.args.get("sort") or "date_obs",
        formats=format_urls(),
    )


# --- the image view ---------------------------------------------------------------------------

def _rootname_or_404(proposid: str, rootname: str, endpoint: str, **extra):
    """Return (proposid, catalog document), or redirect to the rootname's own URL."""
    pid = _proposid(proposid)
    st = state()
    try:
        doc = catalog_document(st.db, rootname)
    except QueryError as exc:
        abort(404, description=str(exc))
    if doc is None:
        abort(404, description=f"There is no rootname {rootname[:20]} in the archive.")
    canonical = doc.get("rootname") or doc["_id"]
    if doc.get("proposid") != pid or rootname != canonical:
        return None, redirect(url_for(endpoint, proposid=proposal_segment(doc.get("proposid")),
                                      rootname=canonical, **extra), code=301)
    return doc, None


@bp.route("/archive/<proposid>/<rootname>/")
@bp.route("/archive/<proposid>/<rootname>/<filetype>/")
def image_view(proposid: str, rootname: str, filetype: str | None = None):
    """A rootname's quicklook image, key metadata and files."""
    extra = {"filetype": filetype.lower()} if filetype else {}
    doc, moved = _rootname_or_404(proposid, rootname, "archive.image_view", **extra)
    if moved is not None:
        return moved
    if filetype and filetype != filetype.lower():   # FLT as flt, as rootnames in any case
        return redirect(url_for("archive.image_view", proposid=proposid, rootname=rootname,
                                **extra), code=301)
    st = state()
    available = quicklook_filetypes(doc)
    present = doc.get("filetypes") or []
    # A further image file of a filetype (a second crj sub-product, a retransmission's flt)
    # has a tab of its own, by its file key (js2201012_crj), after its filetype's.
    more = sorted(k for k in doc.get("file_paths") or {} if k.rpartition("_")[2] in
                  IMAGE_FILETYPES and k not in IMAGE_FILETYPES)
    image_keys = [k for ft in IMAGE_FILETYPES if ft in present
                  for k in [ft] + [m for m in more if m.endswith("_" + ft)]]
    if filetype is None:
        preferred = [ft for ft in THUMBNAIL_FILETYPES if ft in available] + available
        filetype = preferred[0] if preferred else None
    elif filetype not in image_keys:
        abort(404, description=f"{doc['rootname']} has no {filetype[:10]} image; "
              f"its files: {', '.join(present) or 'none'}.")
    quicklook = doc.get("quicklook") or {}
    full = quicklook.get(filetype) if filetype else None
    preview = ((quicklook.get("preview") or {}).get(filetype) or full) if filetype else None
    files = []
    for key, relative in _file_paths(doc):  # every file, of every rootname merged here
        name = relative.rsplit("/", 1)[-1]
        absolute = (str(file_path(st.settings.archive, relative.rsplit("/", 1)[0], name[:9],
                                  key.rpartition("_")[2], name))
                    if st.settings.archive is not None else None)
        files.append((key.rpartition("_")[2], relative, absolute, name[:9].lower()))
    proposals = pending_proposals(st.db, doc["_id"]) if doc.get("proposed") else []
    mast = {"dataset": mast_url(st.settings.mast_dataset_url, doc["rootname"],
                                doc.get("proposid")),
            "proposal": mast_url(st.settings.mast_proposal_url, None, doc.get("proposid"))}
    return render_template(
        "image.html", doc=doc, proposid=doc.get("proposid"),
        segment=proposal_segment(doc.get("proposid")), filetype=filetype,
        image_filetypes=image_keys, available=available,
        full=full, preview=preview, metadata=_METADATA, files=files, mast=mast,
        key_values=key_header_values(st.db, doc["rootname"], filetype),
        neighbours=neighbours(st.db, doc, st.cache),
        association=association(st.db, doc, st.cache),
        history=_history(doc), vocabulary=st.vocabulary.flags,
        max_comment=MAX_COMMENT, overlay=picture_regions(doc, filetype),
        proposals=proposals, trail_overlay=_trail_overlay(proposals, filetype),
    )


#: Filetypes whose quicklook has the chips of the flt (and so the same pixel frame).
_CHIP_FRAME = ("flt", "flc", "crj", "crc")


def _trail_overlay(proposals: list[dict], filetype: str | None) -> dict | None:
    """The proposed trails to draw on this quicklook: its size, and each line's ends."""
    if filetype not in _CHIP_FRAME:
        return None
    for proposal in proposals:
        detail = proposal.get("detail") or {}
        if detail.get("trails") and detail.get("image_size"):
            width, height = detail["image_size"]
            return {"width": width, "height": height,
                    "lines": [t["image_endpoints"] for t in detail["trails"]]}
    return None


def _file_paths(doc: dict) -> list[tuple[str, str]]:
    """(file key, path relative to the archive) of every file, filetypes in order."""
    paths = doc.get("file_paths")
    if not paths:  # a document written before file_paths
        return [(ft, f"{doc.get('path')}/{doc['rootname']}_{ft}.fits")
                for ft in FILETYPES if ft in (doc.get("filetypes") or [])]
    order = {ft: i for i, ft in enumerate(FILETYPES)}
    # Within a filetype the observation's own file first (key "flt"), then the others
    # ("j8cw03012_flt") by name.
    return sorted(paths.items(), key=lambda kv: (order.get(kv[0].rpartition("_")[2], 99),
                                                 "_" in kv[0], kv[0]))


def _history(doc: dict) -> list[dict]:
    """A rootname's anomaly events: none to read if it was never tagged, else kept per change."""
    seq = (doc.get("anomaly_seq") or 0, doc.get("proposal_seq") or 0)
    if not any(seq):
        return []
    st = state()
    key = ("anomaly_history", st.db.name, doc["_id"], seq)  # a new event, a new seq
    history = st.cache.get(key)
    if history is None:
        history = rootname_history(st.db, doc["_id"])
        st.cache.put(key, history)
    return history


# --- the header view --------------------------------------------------------------------------

@bp.route("/archive/<proposid>/<rootname>/headers/")
@bp.route(suffix_rule("/archive/<proposid>/<rootname>/headers"))
def headers(proposid: str, rootname: str, fmt: str | None = None):
    """Every header of every file of a rootname, as keyword/value/type tables."""
    fmt = requested_format(fmt)
    extra = {"fmt": fmt} if request.view_args.get("fmt") else {}
    catalog, moved = _rootname_or_404(proposid, rootname, "archive.headers", **extra)
    if moved is not None:
        return moved
    doc = whole_document(state().db, catalog["_id"])
    if doc is None:
        abort(404, description=f"There is no rootname {rootname[:20]} in the archive.")
    tables = header_tables(doc)
    if fmt == "json":
        by_filetype: dict[str, dict[str, dict]] = {}
        comments: dict[str, dict[str, dict]] = {}
        for t in tables:
            by_filetype.setdefault(t.filetype, {})[t.ext] = {c.keyword: c.value for c in t.cards}
            comments.setdefault(t.filetype, {})[t.ext] = {
                c.keyword: c.comment for c in t.cards if c.comment}
        return json_response({"rootname": doc.get("rootname"), "proposid": doc.get("proposid"),
                              "headers": by_filetype, "comments": comments,
                              "errors": doc.get("errors") or []})
    if fmt == "csv":
        # COMMENT and HISTORY: one line each inside the quoted field (their text has ';').
        rows = ({"filetype": t.filetype, "ext": t.ext, "keyword": c.keyword,
                 "value": "\n".join(map(str, c.value)) if c.type == "commentary" else c.value,
                 "comment": c.comment, "type": c.type} for t in tables for c in t.cards)
        return csv_response(("filetype", "ext", "keyword", "value", "comment", "type"), rows,
                            f"{doc.get('rootname')}_headers.csv")
    q = (request.args.get("q") or "")[:100]
    return render_template("headers.html", doc=doc, tables=tables, q=q,
                           query_url=url_for("query.query"), trend_url=url_for("trend.trend_page"),
                           segment=proposal_segment(doc.get("proposid")), formats=format_urls(),
                           n_cards=sum(len(t.cards) for t in tables))


# --- a rootname by name ----------------------------------------------------------------------

@bp.route("/rootname")
@bp.route("/rootname/<rootname>")
def find_rootname(rootname: str | None = None):
    """Go to a rootname's image view, by its name alone (``/rootname/j94f05bgq``)."""
    rootname = (rootname or request.args.get("rootname") or "").strip()
    if not rootname:
        return redirect(url_for("home.index"))
    rootname_id(rootname)  # QueryError (400) for a malformed name
    doc = catalog_document(state().db, rootname)
    if doc is None:
        abort(404, description=f"There is no rootname {rootname[:20]} in the archive.")
    return redirect(url_for("archive.image_view", proposid=proposal_segment(doc.get("proposid")),
                            rootname=doc.get("rootname") or doc["_id"]))
