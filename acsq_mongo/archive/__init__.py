"""The archive on disk: its layout and the discovery of rootnames and files.

``<root4>/<rootname>/<rootname>_<filetype>.fits``, walked and fingerprinted
(:mod:`~acsq_mongo.archive.discover`). Nothing here touches the database.
"""
