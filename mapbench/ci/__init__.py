"""`mapbench ci`: compare two commits interleaved, fail on regressions; measure the harness.

Nothing is imported here: worker processes import `mapbench.ci.slowmap` and must stay light.
Entry points: `mapbench.ci.pipeline.run_ci`, `python -m mapbench.ci.sensitivity`.
"""
