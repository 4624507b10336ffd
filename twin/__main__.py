"""``python -m twin``: the twin's command line (see :mod:`twin.cli.main`)."""

import sys

from twin.cli.main import main

sys.exit(main())
