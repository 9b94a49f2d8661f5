"""The installed conformance suite's `contract` module over every available registered map.

mapbench's pytest plugin parametrizes it; `--map SPEC` narrows it to the given maps.
"""

from mapbench.conformance.test_contract import *  # noqa: F403
