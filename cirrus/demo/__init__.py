"""The demo: a small geospatial project that runs end to end with ``cirrus demo``.

The project itself lives in ``project/`` beside this module (data, not a package); the
helpers here copy it, run it and turn its published items into a static STAC catalog::

    from cirrus.demo import build_static_catalog, check_catalog

    catalog_json = build_static_catalog(items, collection, "out/catalog")
    report = check_catalog(catalog_json)
    assert report.ok, report.problems
"""

from cirrus.demo.catalog import build_static_catalog
from cirrus.demo.check import CatalogReport, CheckedItem, check_catalog
from cirrus.demo.run import DemoResult, prepare_folder, run_demo

__all__ = [
    "CatalogReport",
    "CheckedItem",
    "DemoResult",
    "build_static_catalog",
    "check_catalog",
    "prepare_folder",
    "run_demo",
]
