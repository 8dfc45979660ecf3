"""``acsq headers ROOTNAME``: a rootname's stored headers, as text, JSON or a FITS header.

Read from the database (no FITS file is opened): every header of every file,
or one filetype's (``--filetype flt``), or one extension (``--ext 0``,
``--ext SCI``, ``--ext SCI,2``). The real keywords, values and card comments
(:mod:`acsq_mongo.browse.headers`).
"""

from __future__ import annotations

import argparse
import json
import sys

from acsq_mongo.settings import Settings

_EPILOG = """\
formats:
  text  (default) the cards as a FITS header shows them, each header under a
        line "# ROOTNAME_FT.fits [EXT] EXTNAME,EXTVER"
  json  {"rootname", "headers": [{"filetype", "ext", "extname",
        "cards": [{"keyword", "value", "comment"}]}]}
  fits  one header as FITS cards (80 characters each, padded to 2880 bytes), for
        astropy.io.fits.Header.fromstring; choose it with --filetype and --ext
examples:
  acsq headers j94f05bgq --filetype flt --ext 0
  acsq headers j94f05bgq --filetype flt --ext SCI,2 --format json
  acsq headers j94f05bgq --filetype raw --ext 0 --format fits > raw0.hdr
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("rootname", metavar="ROOTNAME", help="8 or 9 characters, any case")
    parser.add_argument("--filetype", metavar="FT",
                        help="one filetype: raw, flt, flc, spt, ... (default: every one)")
    parser.add_argument("--ext", metavar="N|NAME",
                        help="one extension: a number (0: the primary header) or an EXTNAME "
                        "(SCI: the first; SCI,2) (default: every one)")
    parser.add_argument("--format", choices=("text", "json", "fits"), default="text",
                        help="text (default), json, or fits (one header)")


def _title(rootname: str, table) -> str:
    extname = f" {table.extname}" if table.extname else ""
    return f"# {rootname}_{table.filetype}.fits [{table.ext}]{extname}"


def run(args: argparse.Namespace, settings: Settings) -> int:
    from acsq_mongo.browse.headers import fits_header, rootname_headers
    from acsq_mongo.db.connection import connect
    from acsq_mongo.formats.render import json_default
    from acsq_mongo.query.errors import QueryError

    document, tables = rootname_headers(connect(settings), args.rootname, args.filetype,
                                        args.ext)
    rootname = document.get("rootname") or document["_id"]
    out = sys.stdout
    if args.format == "fits":
        if len(tables) != 1:
            raise QueryError(f"--format fits writes one header; {rootname} has "
                             f"{len(tables)} here: choose one with --filetype and --ext")
        out.write(fits_header(tables[0]).tostring())
        return 0
    if args.format == "json":
        headers = [{"filetype": t.filetype, "ext": int(t.ext) if t.ext.isdigit() else t.ext,
                    "extname": t.extname,
                    "cards": [{"keyword": c.keyword, "value": c.value, "comment": c.comment}
                              for c in t.cards]}
                   for t in tables]
        out.write(json.dumps({"rootname": rootname, "headers": headers}, indent=2,
                             default=json_default) + "\n")
        return 0
    for i, table in enumerate(tables):
        if i:
            out.write("\n")
        out.write(_title(rootname, table) + "\n")
        cards = fits_header(table).tostring(sep="\n", endcard=False, padding=False)
        out.write("\n".join(line.rstrip() for line in cards.splitlines()) + "\n")
    return 0
