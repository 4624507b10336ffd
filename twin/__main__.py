"""``python -m twin``: the twin's command line (see :mod:`twin.cli`)."""

import sys

from twin.cli import main

sys.exit(main())
