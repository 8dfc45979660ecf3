"""``acsq query``: find rootnames by any field or header keyword; print rows, CSV, JSON, paths
or a download script."""

from __future__ import annotations

import argparse
import functools
import shlex
import sys

from acsq_mongo.db.connection import connect
from acsq_mongo.formats.downloads import download_url, script_lines
from acsq_mongo.formats.render import csv_lines, result_json, table_lines, text_value
from acsq_mongo.query import core
from acsq_mongo.query.errors import QueryError
from acsq_mongo.query.facets import FACET_FIELDS
from acsq_mongo.query.spec import FORMATS, QuerySpec
from acsq_mongo.settings import Settings

_EPILOG = """\
filters are FIELD=VALUE or FIELD__OP=VALUE, ANDed:
  ops: exact (default), not, in, notin, gt, gte, lt, lte, contains, startswith, regex, exists
  fields: the promoted fields (rootname, detector, proposid, filter1, exptime, date_obs, ...)
          or any header keyword as headers.<filetype>.<ext>.<KEY>
  filter=F814W: either filter wheel (filter1 or filter2)
  wavelength=500nm..900nm: the filter's pivot wavelength in a range; wavelength=656nm: in its band
  cone search of target positions: ra=DEG dec=DEG radius=DEG, or cone=POSITION,RADIUS
  footprints: contains=POSITION (images covering it), overlaps=POSITION,RADIUS
    POSITION: 6.0236,-72.0813 | '00:24:05.7 -72:04:53' | '00h24m05.7s -72d04m53s' |
              'galactic 305.9 -44.9' | a target name of this archive (NGC104)
    RADIUS: 5arcsec, 2arcmin, 0.1deg; a bare number is degrees
    --sort distance: nearest first (from the position)
examples:
  acsq query detector=WFC filter1=F625W exptime__gte=1000
  acsq query filter=F814W wavelength=700nm..900nm --facets
  acsq query targname='NGC*' date_obs__gte=2006-01-01 date_obs__lt=2007 --sort=-exptime
  acsq query headers.flt.0.CCDGAIN__gte=2 --columns rootname,date_obs,headers.flt.0.CCDGAIN
  acsq query ra=6.02 dec=-72.08 radius=0.2 --format paths --filetype flt
  acsq query contains='00:24:05.7 -72:04:53' --sort distance
  acsq query overlaps=NGC104,2arcmin exptime__gte=100
  acsq query proposid=10368 --format curl --filetype flt,drz > acsq_download.sh
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("filters", nargs="*", metavar="FIELD[__OP]=VALUE",
                        help="filters and cone parameters (see below)")
    parser.add_argument("--columns", metavar="C1,C2",
                        help="output columns: fields or header paths (default: the standard "
                        "columns, and any header keyword filtered or sorted by)")
    parser.add_argument("--format", choices=FORMATS, default="table",
                        help="table (default), csv (all rows, streamed), json (one page), "
                        "paths (absolute file paths, all rows), votable or ecsv (all rows, "
                        "typed, with units: for TOPCAT and astropy) or curl (a download script "
                        "of every matching file, --limit and --offset ignored, from the web app "
                        "at the setting web_url)")
    parser.add_argument("--filetype", metavar="FT[,FT]",
                        help="filetypes for --format paths and curl (default: every one present)")
    parser.add_argument("--sort", metavar="[-]FIELD[,...]",
                        help="sort order, '-' for descending, e.g. --sort=-exptime "
                        "(default: date_obs); _id breaks ties, in the last key's direction")
    parser.add_argument("--limit", type=int, metavar="N",
                        help="rows to show (default: page_size for table and json; all for csv, "
                        "paths, votable and ecsv)")
    parser.add_argument("--offset", type=int, metavar="M", help="rows to skip")
    parser.add_argument("--facets", action="store_true",
                        help="also print the counts per " + ", ".join(FACET_FIELDS))


def _spec(args: argparse.Namespace) -> QuerySpec:
    pairs = []
    for item in args.filters:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise QueryError(f"expected FIELD=VALUE or FIELD__OP=VALUE, got {item!r}")
        pairs.append((name.strip(), value))
    for option in ("columns", "sort", "limit", "offset", "filetype"):
        value = getattr(args, option)
        if value is not None:
            pairs.append((option, str(value)))
    return QuerySpec.parse(pairs)


def _print_facets(facets: dict) -> None:
    for name, pairs in facets.items():
        shown = ", ".join(f"{text_value(v) or '(none)'}: {n}" for v, n in pairs[:20])
        more = f", ... ({len(pairs) - 20} more)" if len(pairs) > 20 else ""
        print(f"{name}: {shown}{more}")


def run(args: argparse.Namespace, settings: Settings) -> int:
    db = connect(settings)
    spec = _spec(args)
    out = sys.stdout
    if args.format in ("csv", "paths", "votable", "ecsv", "curl"):
        for warning in core.warnings(db, spec):
            print(f"warning: {warning}", file=sys.stderr)
    if args.format == "csv":
        for line in csv_lines(spec.column_names, core.iter_rows(db, spec)):
            out.write(line)
        return 0
    if args.format in ("votable", "ecsv"):
        # astropy.table and its VOTable writer: imported only for these formats.
        from acsq_mongo.formats.table import query_table
        from acsq_mongo.formats.votable import ecsv_text, votable_bytes
    if args.format == "votable":
        sys.stdout.buffer.write(votable_bytes(query_table(db, spec)))
        sys.stdout.flush()
        return 0
    if args.format == "ecsv":
        out.write(ecsv_text(query_table(db, spec)))
        return 0
    if args.format == "paths":
        for path in core.iter_paths(db, spec, settings):
            out.write(path + "\n")
        return 0
    if args.format == "curl":
        command = shlex.join(["acsq", "query", *args.filters] + (
            [f"--filetype={args.filetype}"] if args.filetype else []))
        # Every match: the script is of the query, never of one page.
        files = core.iter_files(db, spec.replace(offset=0, limit=None), settings)
        for line in script_lines(files, functools.partial(download_url, settings.web_url),
                                 command=command, archive=settings.archive):
            out.write(line)
        return 0
    result = core.run(db, spec, settings, with_facets=args.facets or args.format == "json")
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.format == "json":
        out.write(result_json(result, indent=2) + "\n")
        return 0
    for line in table_lines(result.columns, result.rows):
        out.write(line + "\n")
    if result.rows:
        footer = f"rows {result.first_row}-{result.last_row} of {result.count}"
    else:
        footer = f"no rows (of {result.count} matching)"
    if result.next_offset is not None:
        footer += f"; next page: --offset {result.next_offset}"
    print(footer)
    if args.facets and result.facets is not None:
        _print_facets(result.facets)
    return 0
