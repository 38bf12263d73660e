import sys

try:
    from . import main
except KeyboardInterrupt:  # Ctrl-C while the modules load: no traceback
    print("backprop: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
