"""Vigil for Python: the Rust core through its uniffi bindings.

`bindings/build.sh` generates `vigil.py` and copies the library beside it. Start
with `await open_vault(path, passphrase)` or `await create_vault(...)`.
"""

import atexit

from .vigil import *  # noqa: F401,F403 - the generated module is the API
from .vigil import __all__  # noqa: F401
from .vigil import stop_callbacks

# At exit, before the interpreter finalizes: a listener called from the library's
# threads after that point would abort the process.
atexit.register(stop_callbacks)
