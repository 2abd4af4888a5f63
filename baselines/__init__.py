"""The suite's built-in methods other than LM-MTC. Importing this package registers them:
every module in this folder is imported, so a new baseline is a new file, nothing else."""

import importlib
import pkgutil

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
