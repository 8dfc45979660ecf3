"""``acsq trend``: a numeric field against time for the rootnames of a query; PNG, SVG or CSV."""

from __future__ import annotations

import argparse
import sys

from acsq_mongo.db.connection import connect
from acsq_mongo.query.errors import QueryError
from acsq_mongo.settings import Settings
from acsq_mongo.trends.trend import GROUP_FIELDS, TrendSpec, trend

_EPILOG = """\
FIELD is a promoted number (exptime, expstart, ...) or any header keyword as
headers.<filetype>.<ext>.<KEY>; filters are those of `acsq query`. A path that no
header has is warned about, with where the keyword is or close spellings.
keywords worth a trend (in the ACS keyword inventory, at these headers):
  headers.flt.1.MDRIZSKY (sky level), headers.flt.0.BIASLEVA (bias level, amp A),
  headers.flt.1.MEANDARK (dark), headers.flt.0.CCDGAIN (gain),
  headers.flt.0.READNSEA (read noise, amp A), headers.flt.1.MEANFLSH (post-flash),
  headers.flt.1.PHOTFLAM (inverse sensitivity)
the output's suffix chooses the format: .png or .svg (the picture), .csv (the points);
without --output, the count, mean, min and max per group are printed.
examples:
  acsq trend exptime detector=WFC --output exptime.png
  acsq trend headers.flt.0.BIASLEVA date_obs__gte=2010 --by detector --output biaslev.csv
  acsq trend headers.flt.1.MDRIZSKY --x expstart --by filter1 --output sky.svg
  acsq trend exptime contains=NGC7793 --by filter1
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("field", metavar="FIELD", help="the field to plot (y)")
    parser.add_argument("filters", nargs="*", metavar="FIELD[__OP]=VALUE",
                        help="the query's filters, as for acsq query")
    parser.add_argument("--x", metavar="FIELD", default="date_obs",
                        help="the x axis: date_obs (default) or another numeric field")
    parser.add_argument("--by", metavar="FIELD", default="detector",
                        help="colour by one of " + ", ".join(GROUP_FIELDS)
                        + " (default detector); --by= for one group")
    parser.add_argument("--output", "-o", metavar="FILE",
                        help="write trend.png, trend.svg or trend.csv")


def _spec(args: argparse.Namespace) -> TrendSpec:
    pairs = [("y", args.field), ("x", args.x), ("by", args.by)]
    for item in args.filters:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise QueryError(f"expected FIELD=VALUE or FIELD__OP=VALUE, got {item!r}")
        pairs.append((name.strip(), value))
    return TrendSpec.parse(pairs)


def run(args: argparse.Namespace, settings: Settings) -> int:
    spec = _spec(args)
    result = trend(connect(settings), spec, settings)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    written = result.save(args.output) if args.output else None
    print(f"{result.n_points} points from {result.n_matching} rootnames"
          + (f"; wrote {written}" if written else ""))
    for group in result.groups:
        name = group.value if spec.by else "all"
        print(f"{spec.by or 'group'} {name}: n={group.n} mean={group.mean:.6g} "
              f"min={group.min:.6g} max={group.max:.6g}", file=sys.stdout)
    return 0
