"""Typed tables and the VO services on the real local server (SecantusDB) with a sample archive.

What it times, at ``--rootnames`` rootnames (no quicklook images):

- ``Query.to_table()`` of every rootname (the standard columns), and with a
  header-keyword column (which reads the whole ``rootnames`` documents);
- the same table written as a VOTable and as ECSV (bytes, seconds);
- through the web app on a real HTTP server (werkzeug, in a thread): a cone
  search ``/vo/scs`` of 1 degree, and SIA v2 ``/vo/sia`` with a 1-degree
  ``POS=CIRCLE``, with ``BAND``, and ``COLLECTION=HST`` (every image product, up
  to ``max_rows``): p50 and p95 over ``--repeats`` requests, with the rows answered.

Usage::

    python benchmarks/bench_vo.py [--rootnames 2000] [--repeats 20] [--archive DIR]
"""

from __future__ import annotations

import argparse
import io
import logging
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import fetch_body, percentile, sample_archive
from astropy.io.votable import parse
from werkzeug.serving import make_server

from acsq_mongo import Archive
from acsq_mongo.db import localserver as localdb
from acsq_mongo.db.collections import CATALOG
from acsq_mongo.db.connection import connect
from acsq_mongo.db.indexes import ensure_indexes
from acsq_mongo.formats.votable import ecsv_text, votable_bytes
from acsq_mongo.ingest.run import run_ingest
from acsq_mongo.settings import load_settings
from webapp import create_app


def _best(function, repeats: int = 3):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = function()
        times.append(time.perf_counter() - start)
    return min(times), value


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rootnames", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--archive", type=Path, help="an existing sample archive to ingest")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_vo_") as tmp, \
            localdb.LocalServer.private(Path(tmp)) as server:
        return _bench(args, Path(tmp), server.uri)


def _bench(args: argparse.Namespace, work: Path, uri: str) -> int:
    archive = sample_archive(args.archive, work, args.rootnames, args.seed).root
    settings = load_settings(environ={}, mongo_uri=uri, db="bench", data=work / "var",
                             archive=archive, server_timeout=30, max_rows=20000)
    db = connect(settings)
    ensure_indexes(db)
    run_ingest(settings, archive, quicklook=False)
    n = db[CATALOG].count_documents({})
    print(f"  ingested {n} rootnames", flush=True)

    cold = Archive(settings, db=db, cache=False)
    t_table, table = _best(lambda: cold.query().to_table())
    header_q = cold.query().select("rootname", "date_obs", "exptime", "headers.flt.0.CCDGAIN")
    t_header, header_table = _best(lambda: header_q.to_table())
    t_vot, vot = _best(lambda: votable_bytes(table))
    t_ecsv, ecsv = _best(lambda: ecsv_text(table))
    print(f"\nQuery.to_table() of every rootname ({len(table)} rows, {len(table.colnames)} "
          f"columns), no cache: {t_table:.2f} s")
    print(f"  with a header column (whole documents read): {t_header:.2f} s "
          f"({len(header_table)} rows)")
    print(f"  written as VOTable: {t_vot:.2f} s, {len(vot) / 1e6:.1f} MB; as ECSV: "
          f"{t_ecsv:.2f} s, {len(ecsv) / 1e6:.1f} MB")

    logging.getLogger("werkzeug").setLevel(logging.WARNING)   # no line per request
    app = create_app(settings, db=db)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}/vo"
    centre = next(r for r in cold.query(ra_targ__exists=True).select(
        "ra_targ", "dec_targ").rows())
    ra, dec = centre["ra_targ"], centre["dec_targ"]
    requests = {
        "SCS 1 deg, VERB=2": f"{base}/scs?RA={ra}&DEC={dec}&SR=1",
        "SIA POS=CIRCLE 1 deg": f"{base}/sia?POS=CIRCLE+{ra}+{dec}+1",
        "SIA BAND 500-600 nm": f"{base}/sia?BAND=5e-7+6e-7",
        "SIA COLLECTION=HST (all)": f"{base}/sia?COLLECTION=HST",
    }
    print(f"\nVO requests through HTTP at {n} rootnames (result cache on, as served):")
    for label, url in requests.items():
        times = []
        for _ in range(args.repeats):
            seconds, status, body = fetch_body(url)
            assert status == 200, (url, status, body[:300])
            times.append(seconds)
        rows = len(parse(io.BytesIO(body), verify="exception").get_first_table().array)
        print(f"  {label:<26} {rows:>6} rows   p50 {statistics.median(times) * 1000:.0f} ms, "
              f"p95 {percentile(times, 95) * 1000:.0f} ms over {args.repeats}")
    server.shutdown()
    thread.join()
    print("\nTimings depend on the load of the machine: compare runs made on a quiet one.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
