"""benchmarks.store: what a run leaves on disk, and reading it back.

Owns the run file (:mod:`.records`: ``RunRecord``, ``Cell``, where a cell's file lives),
the scores file beside it (:mod:`.scores`), the threshold policies applied to stored
scores (:mod:`.thresholds`), the per-cell lock that lets runners share a results folder
(:mod:`.locks`) and the mean/std summary of runs (:mod:`.summary`). It knows nothing of
experiments, profiles or how a cell was run.

May import: lmmtc
"""
