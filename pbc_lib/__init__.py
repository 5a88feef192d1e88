"""PbC Workbooks helper library: data, models, charts and apps behind the workbooks.

Logging: the library logs the detail of every error it turns into a plain-English message. With no
handler of its own, Python would print those records (tracebacks included) to stderr, which a
notebook shows under the cell, and Voilà on the page. So the ``pbc_lib`` logger gets a
NullHandler, and a file handler when ``PBC_LOG_FILE`` names a file (``python -m pbc_lib.hosting``
sets one for its kernels). Records still propagate to any handler the host application configures.
"""

import logging as _logging
import os as _os

_logger = _logging.getLogger("pbc_lib")
_logger.addHandler(_logging.NullHandler())
if _os.environ.get("PBC_LOG_FILE"):
    try:
        _handler = _logging.FileHandler(_os.environ["PBC_LOG_FILE"], encoding="utf-8")
    except OSError:  # an unwritable log file must not stop a workbook
        pass
    else:
        _handler.setFormatter(_logging.Formatter("%(asctime)s %(process)d %(name)s %(message)s"))
        _logger.addHandler(_handler)
