import sys

from videoxai.cli import main

sys.exit(main())
