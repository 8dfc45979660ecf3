"""The Virtual Observatory services, translated into query specs of the core.

- :mod:`.scs`: Simple Cone Search;
- :mod:`.sia`: Simple Image Access v2, with ObsCore rows (:mod:`.obscore`);
- :mod:`.regions`: the ``POS`` regions of SIA v2 (circle, range, polygon), and
  :mod:`.region_overlap` for whether a footprint overlaps one;
- :mod:`acsq_mongo.query.passbands` (in the core, shared with ``wavelength=``): the ACS
  filters' wavelength ranges, for ``BAND``.
"""
