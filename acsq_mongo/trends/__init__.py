"""A query drawn: a header keyword over time (:mod:`.trend`, and the keywords worth one that
exist, :mod:`.trend_keywords`), and the targets of a query on the sky (:mod:`.sky_points`).
The figures themselves come from :mod:`acsq_mongo.plots`.
"""
