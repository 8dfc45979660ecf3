"""``python -m acsq_mongo.cli``: the same as the ``acsq`` command."""

import sys

from acsq_mongo.cli import main

if __name__ == "__main__":  # importing it (the API reference does) runs nothing
    sys.exit(main())
