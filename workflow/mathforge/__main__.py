import sys

from mathforge.cli import main

sys.exit(main())
