"""A query drawn: a header keyword over time, and the targets of a query on the sky.

- :mod:`acsq_mongo.trends.trend`: the trend (its points, groups and figure);
- :mod:`acsq_mongo.trends.trend_keywords`: the header keywords worth a trend that exist;
- :mod:`acsq_mongo.trends.sky_points`: the positions and footprints behind a sky map;
- :mod:`acsq_mongo.trends.limits`: the cap both share (``trend_max_points``).

The figures themselves come from :mod:`acsq_mongo.plots`.
"""
