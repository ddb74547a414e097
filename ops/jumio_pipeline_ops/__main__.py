"""`python -m jumio_pipeline_ops ...`"""

import sys

from jumio_pipeline_ops.cli import main

sys.exit(main())
