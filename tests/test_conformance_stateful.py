"""The installed conformance suite's `stateful` module over every available registered map.

mapbench's pytest plugin parametrizes it; `--map SPEC` narrows it to the given maps.
"""

from mapbench.conformance.test_stateful import *  # noqa: F403
