"""``python -m backprop …``: the same as the ``backprop`` command."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: no traceback
    print("backprop: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
