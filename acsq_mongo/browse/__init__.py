"""Browse views over the query core: the proposals table, one proposal's rootnames, one
rootname's whole document, and the summary of what the archive holds.

- :mod:`.proposals`: the proposal summaries, searched and paged;
- :mod:`.proposal_rows`: one proposal's rootnames;
- :mod:`.rootname`: one rootname, its catalog entry and every header;
- :mod:`.visit`: the rootnames of one visit (the image explorer compares with them);
- :mod:`.summary`: counts by detector, filetype and year, the latest ingest, errors.
"""
