"""benchmarks.suite: what the suite runs, as declarations.

Owns the experiments (the paper's tables and figures: data sets, methods, variants, the
names of their builders; :mod:`.experiments`), the profiles (smoke, cpu, gpu, paper;
:mod:`.profiles`), the method configs (``configs/methods/*.yaml``, :mod:`.config`), the
paper's values (``reference/*.csv``, :mod:`.reference`) and the default folders
(:mod:`.paths`). Declarations only: nothing here runs a cell or draws a table.

May import: benchmarks.store, data_prep, lmmtc
"""
