"""The steps pressplay serves: one module per step, listed in :mod:`pressplay.steps.registry`."""
