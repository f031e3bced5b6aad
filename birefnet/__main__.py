"""`python -m birefnet ...`: see birefnet.cli."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
