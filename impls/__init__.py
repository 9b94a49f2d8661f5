"""The built-in map implementations, one per module; each module exports its entries as `MAPS`."""
