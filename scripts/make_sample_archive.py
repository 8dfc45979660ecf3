#!/usr/bin/env python3
"""Write a realistic sample ACS archive: the same as ``acsq sample``.

Usage: scripts/make_sample_archive.py OUT [--rootnames N] [--seed S] [--full-size]
"""

import sys

from acsq_mongo.cli import main

if __name__ == "__main__":
    sys.exit(main(["sample", *sys.argv[1:]]))
