"""A query drawn: a header keyword over time (:mod:`acsq_mongo.trends.trend`, and the
keywords worth one that exist, :mod:`acsq_mongo.trends.trend_keywords`), and the targets of
a query on the sky (:mod:`acsq_mongo.trends.sky_points`).
The figures themselves come from :mod:`acsq_mongo.plots`.
"""
