"""``python -m knowledge_graph import FILE --mapping MAPPING``: import a shop's catalog.

The entry point only: the import is composed in :mod:`shopctl.catalog`
(application layer), so the knowledge_graph library stays free of the shop
database and the settings.
"""

from __future__ import annotations

import sys

from shopctl.catalog import main

if __name__ == "__main__":
    sys.exit(main())
