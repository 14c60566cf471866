"""`python -m bench` (the Makefile's `make bench`)."""

import sys

from bench.cli import main

sys.exit(main())
