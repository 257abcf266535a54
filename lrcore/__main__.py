import os
import sys

from .cli import main

try:
    sys.exit(main())
except BrokenPipeError:  # `python -m lrcore | head`: the reader left; leave quietly
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(0)
except KeyboardInterrupt:
    sys.exit(130)
