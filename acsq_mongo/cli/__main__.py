"""``python -m acsq_mongo.cli``: the same as the ``acsq`` command."""

import sys

from acsq_mongo.cli import main

sys.exit(main())
