"""The database layer: the model shared by the writers (ingest) and the readers (query).

The connection and the indexes (:mod:`~acsq_mongo.db.connection`) and the local
MongoDB-compatible server run as a separate process (:mod:`~acsq_mongo.db.localserver`).
"""
