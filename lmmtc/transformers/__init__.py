"""Transformer methods (LM-MTC and its variants) and their shared training loop.
Importing this package registers them: every module in this folder is imported."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
