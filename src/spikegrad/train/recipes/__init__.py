"""Recipe modules; every module here is imported by :mod:`spikegrad.train.recipe` and registers its recipes."""
