"""The quicklook images of one observation's files, made during its ingest.

An observation may hold files of several 9-character rootnames (an
association's sub-products, a retransmission). Each file's images are named by
its own rootname (``j8cw03011_crj.jpg``) and recorded in the document's
``quicklook`` under its file key (:func:`acsq_mongo.archive.discover.file_key`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from acsq_mongo.archive.discover import RootnameFolder

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = ["observation_quicklooks"]


def observation_quicklooks(
    folder: RootnameFolder, proposid: int | None, images: Mapping[str, Path],
    settings: Settings, force: bool, result: Any, now,
    stats: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Make the images of files ``{file key: path}``; return their paths and new errors.

    Each file's images are named by its own rootname (``j8cw03011_crj.jpg``) and
    recorded under its file key; the thumbnail is the principal rootname's. With
    ``stats``, the image statistics of the files whose images were made now are
    added to it under each file's key, ``{file key: ...}``: a further file of a
    filetype has its own, ``stats.j8cw03012_crj``, beside the first file's ``stats.crj``.
    """
    from acsq_mongo.images.quicklook import make_quicklooks

    groups: dict[str, dict[str, tuple[str, Path]]] = {}
    for key, path in images.items():
        info = folder.files[key]
        groups.setdefault(info.rootname or folder.rootname, {})[info.filetype] = (key, path)
    paths: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    # The principal's files first, so that its thumbnail is the observation's.
    for rootname in sorted(groups, key=lambda r: (r != folder.rootname, r)):
        by_filetype = groups[rootname]
        outcome = make_quicklooks(rootname, proposid,
                                  {ft: path for ft, (_, path) in by_filetype.items()},
                                  settings, force=force)
        result.quicklooks_made += outcome.made
        result.quicklooks_fresh += outcome.skipped
        keys = {ft: key for ft, (key, _) in by_filetype.items()}
        if stats is not None:
            stats.update({keys[ft]: v for ft, v in outcome.stats.items() if ft in keys})
        for name, value in outcome.paths.items():
            if name == "thumbnail":
                paths.setdefault("thumbnail", value)
            elif name == "preview":
                for ft, preview in value.items():
                    paths.setdefault("preview", {})[keys.get(ft, ft)] = preview
            else:
                paths[keys.get(name, name)] = value
        errors += [{"rootname": folder.rootname, "time": now, **e,
                    "filetype": keys.get(e.get("filetype"), e.get("filetype"))}
                   for e in outcome.errors]
    return paths, errors
