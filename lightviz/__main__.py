"""``python -m lightviz`` is the ``lightviz`` command."""

import sys

from .cli import main

sys.exit(main())
