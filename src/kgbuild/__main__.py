"""``python -m kgbuild``: the ``kgbuild`` command."""

import sys

from kgbuild.cli import main

sys.exit(main())
