"""The suite's named data sets, one module each.

A module here declares ``DATASET = DatasetSpec(...)`` (:class:`data_prep.base.DatasetSpec`):
the data set's name, its row in the paper's Table 1, the raw files it expects and where
to get them, the public release's known sizes, its split rules and the function that
builds the canonical records. :mod:`data_prep.registry` finds every module here, so a new
named data set is one new module (plus its tests), and the runner, the converter CLI,
Table 1 and the error hints all learn about it from that declaration.
"""
