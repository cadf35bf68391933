"""``python -m knowledge_graph import FILE --mapping MAPPING``: import a shop's catalog.

The entry point only: the import is composed in :mod:`scripts.catalog_import`
(application layer), so the knowledge_graph library stays free of the shop
database and the settings.
"""

from __future__ import annotations

import sys

from scripts.catalog_import import main

if __name__ == "__main__":
    sys.exit(main())
