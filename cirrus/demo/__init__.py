"""The demo: a small geospatial project that runs end to end with ``cirrus demo``.

The project itself lives in ``project/`` beside this module (data, not a package); the
helpers here copy it, run it and turn its published items into a static STAC catalog.
"""
