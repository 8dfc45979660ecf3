"""Output formats: one query result rendered many ways.

- :mod:`.render`: a text table, CSV and JSON;
- :mod:`.table`: a typed :class:`astropy.table.Table` of a query;
- :mod:`.votable`: VOTable and ECSV from a table;
- :mod:`.downloads`: a ``curl`` script of every matching file.
"""
