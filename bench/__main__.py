"""``python -m bench``: the twin's benchmark (see :mod:`bench.twin_bench`)."""

from bench.twin_bench import main

raise SystemExit(main())
