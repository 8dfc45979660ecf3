"""The sky: image footprints from the WCS, and the spherical geometry of the sky queries.

- :mod:`.footprints`: each image's footprint from the WCS keywords of its headers;
- :mod:`.geometry`: exact point-in-polygon and polygon-cone tests on the sphere, and
  the stored forms (GeoJSON for the 2dsphere index, the ObsCore ``s_region``).

It depends on nothing of the project but numpy and astropy, so that ingest (which
computes footprints) and the query core (which tests them) share it.
"""
