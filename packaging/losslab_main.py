"""Entry script of the frozen app (packaging/losslab.spec): the ``losslab`` command."""

import sys

from simulator.cli import main

if __name__ == "__main__":
    sys.exit(main())
