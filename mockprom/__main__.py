"""``python -m mockprom``: the same as the ``mockprom`` command."""

import sys

from mockprom.cli import main

sys.exit(main())
