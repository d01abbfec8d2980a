"""``python -m simulator``: the same as the ``losslab`` command."""

import sys

from .cli import main

sys.exit(main())
