"""A query drawn: a header keyword over time (:mod:`.trend`), and the targets of a query
on the sky (:mod:`.sky_points`). The figures themselves come from :mod:`acsq_mongo.plots`.
"""
