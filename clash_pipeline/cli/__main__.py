"""`python -m clash_pipeline.cli`."""

import sys

from clash_pipeline.cli import main

sys.exit(main())
