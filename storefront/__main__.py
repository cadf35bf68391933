"""``python -m storefront``: serve the demo shop page (``make run`` starts it)."""

from __future__ import annotations

import argparse

from storefront.app import create_app
from storefront.settings import settings


def main() -> None:
    """Parse the command line and serve."""
    config = settings()
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default=config.host)
    parser.add_argument("--port", type=int, default=config.port)
    args = parser.parse_args()
    from telemetry.logs import setup

    setup("storefront")
    create_app(config).run(host=args.host, port=args.port, single_process=True,
                           access_log=False, motd=False)


if __name__ == "__main__":
    main()
