"""``python -m xaibook.studies.nguyen2021``: see :mod:`.cli`."""
import sys

from .cli import main

sys.exit(main())
