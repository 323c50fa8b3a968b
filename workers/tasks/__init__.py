"""Thin tasks: each loads by id and calls one service in pipeline/. One module per area.

Every module in this package is imported when the worker discovers tasks (after Django is set up).
"""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
