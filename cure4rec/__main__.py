"""`python -m cure4rec` runs the CLI."""

import sys

from cure4rec.cli import main

sys.exit(main())
