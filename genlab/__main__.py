import sys

from genlab.cli import exit_on_sigterm, main

exit_on_sigterm()
sys.exit(main())
