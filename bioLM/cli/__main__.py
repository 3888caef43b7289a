import sys

from bioLM.cli import main

sys.exit(main())
