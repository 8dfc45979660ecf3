"""Plots drawn on the server with matplotlib: trends and sky maps, as PNG or SVG.

Each module takes plain values (numbers, dates, positions in degrees) and
returns the image's bytes; the query core fetches the values and the faces
(web app, ``acsq trend``, the Python API) serve or save the bytes. No pyplot:
each figure is a :class:`matplotlib.figure.Figure` of its own, so that
requests drawn in threads at once do not share state.

- :mod:`.trend_figure`: a field against time (or another field), coloured by group;
- :mod:`.sky_map`: an all-sky map of positions, and a zoomed map with footprints.
"""
