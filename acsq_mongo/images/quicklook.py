"""Quicklook images of one rootname: full JPEGs, previews and the thumbnail.

:func:`make_quicklooks` is the entry point that ingest and ``acsq quicklook``
call. For each image file of a rootname (raw, flt, flc, crj, crc, drz, drc:
:data:`~acsq_mongo.fields.IMAGE_FILETYPES`) it writes, under ``ACSQ_DATA``:

``jpegs/<proposid>/<rootname>_<filetype>.jpg``
    the full-resolution JPEG (one pixel per detector pixel, chips stitched
    as :mod:`acsq_mongo.images.imaging` describes, ``y`` upward, i.e. DS9's view);
``jpegs/<proposid>/<rootname>_<filetype>_preview.jpg``
    a preview at most ``PREVIEW_SIZE`` (1024) pixels on its longest side,
    for the web image view (the image itself if it is no larger);
``thumbnails/<proposid>/<rootname>_<filetype>.thumb``
    for one filetype only, the first of :data:`~acsq_mongo.fields.THUMBNAIL_FILETYPES`
    (flt, drz, drc) the rootname has, so an association product's gallery card
    shows its drizzled image: a ``THUMBNAIL_SIZE`` x ``THUMBNAIL_SIZE``
    (128 x 128) JPEG. The whole image is shrunk to fit, keeping its aspect
    ratio, and **padded** with black to a square, centred (never cropped: a
    gallery thumbnail must show the whole field, and WFC, HRC and SBC frames
    are nearly square).

With the images of each file it measures the file's image statistics
(:mod:`acsq_mongo.images.statistics`), for the document's ``stats``.

``proposid`` None gives the folder ``unknown``. Pixels are read by
:mod:`acsq_mongo.images.imaging` (chips stitched; a drizzled product's
zero-weight border NaN, drawn black) and stretched by
:mod:`acsq_mongo.images.stretch` (setting ``quicklook_stretch``, or
``quicklook_stretch_by_imagetyp`` for the file's ``IMAGETYP``: zscale for
DARK and BIAS frames by default).

A filetype's images are skipped while they are all at least as new as its
FITS file (modification times); ``force`` makes them again. Every image is
written to a temporary file in ``$ACSQ_DATA/tmp`` and renamed into place, so a
reader never sees half a JPEG, and a file that cannot be read leaves nothing
behind (a writer killed mid-write leaves its temporary file, which the next
ingest removes: :mod:`acsq_mongo.images.scratch`). Nothing here raises for bad
input: failures come back as errors.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageOps

from acsq_mongo.fields import IMAGE_FILETYPES, THUMBNAIL_FILETYPES
from acsq_mongo.images.imaging import ImageFile, Mosaic, mosaic_of, open_image
from acsq_mongo.images.scratch import scratch_dir, scratch_path
from acsq_mongo.images.statistics import statistics_of
from acsq_mongo.images.stretch import stretch_for, to_uint8

if TYPE_CHECKING:
    from acsq_mongo.settings import Settings

__all__ = [
    "QuicklookResult",
    "make_quicklooks",
    "quicklook_targets",
    "render",
    "preview_image",
    "thumbnail_image",
    "write_jpeg",
    "JPEG_QUALITY",
    "PREVIEW_SIZE",
    "THUMBNAIL_SIZE",
    "thumbnail_filetype",
]

log = logging.getLogger(__name__)

#: JPEG quality of every image (libjpeg scale, 1-95).
JPEG_QUALITY = 85
#: Longest side of a preview, in pixels.
PREVIEW_SIZE = 1024
#: Side of a thumbnail, in pixels.
THUMBNAIL_SIZE = 128


@dataclass
class QuicklookResult:
    """What :func:`make_quicklooks` did for one rootname.

    Attributes
    ----------
    paths : dict
        The value of the document's ``quicklook`` field: ``{"raw": ...,
        "flt": ..., "drz": ..., "preview": {filetype: ...}, "thumbnail":
        ...}``, paths relative to ``ACSQ_DATA``, with keys only for images
        that exist (made now, still fresh, or kept from before when making
        them again failed).
    made : int
        Filetypes whose images were made now.
    skipped : int
        Filetypes whose images were fresh and left alone.
    errors : list of dict
        One ``{"path", "filetype", "stage": "quicklook", "error"}`` per
        filetype that failed; ``path`` is the FITS file, relative to the
        archive when it lies inside it.
    stats : dict
        ``{filetype: {region: {statistic: value}}}``, the image statistics
        (:func:`acsq_mongo.images.statistics.statistics_of`) of the files
        whose images were made now; a fresh file's are not measured again.
    """

    paths: dict[str, Any] = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    made: int = 0
    skipped: int = 0
    errors: list[dict[str, str]] = field(default_factory=list)


def thumbnail_filetype(filetypes) -> str | None:
    """Return which of ``filetypes`` gives the rootname's thumbnail (flt, else drz, else drc)."""
    return next((ft for ft in THUMBNAIL_FILETYPES if ft in filetypes), None)


def quicklook_targets(rootname: str, proposid: int | None, filetype: str,
                      thumbnail: bool | None = None) -> dict[str, str]:
    """Return the images of one file, relative to ``ACSQ_DATA``.

    Parameters
    ----------
    thumbnail : bool, optional
        Whether this file gives the thumbnail; default: if it is an flt.

    Returns
    -------
    targets : dict
        ``{"full": ..., "preview": ...}``, plus ``"thumbnail"``.
    """
    folder = "unknown" if proposid is None else str(proposid)
    rootname = rootname.lower()
    targets = {
        "full": f"jpegs/{folder}/{rootname}_{filetype}.jpg",
        "preview": f"jpegs/{folder}/{rootname}_{filetype}_preview.jpg",
    }
    if thumbnail is None:
        thumbnail = filetype == THUMBNAIL_FILETYPES[0]
    if thumbnail:
        targets["thumbnail"] = f"thumbnails/{folder}/{rootname}_{filetype}.thumb"
    return targets


def render(path: str | os.PathLike, stretch: str = "percentile",
           by_imagetyp: tuple[tuple[str, str], ...] | dict[str, str] = ()) -> Image.Image:
    """Read a FITS file's science pixels and return them as an 8-bit image.

    Parameters
    ----------
    path : path-like
        A raw, flt, flc, crj, crc, drz or drc file.
    stretch : {"percentile", "zscale", "asinh"}
        The stretch of image types ``by_imagetyp`` does not name.
    by_imagetyp : mapping or pairs
        ``{IMAGETYP: stretch}``, for the file's primary ``IMAGETYP``.

    Returns
    -------
    image : PIL.Image.Image
        Mode ``L``, top row first as images are stored, so that ``y``
        increases upward on screen.

    Raises
    ------
    acsq_mongo.images.imaging.ImageReadError
        If the file has no usable science pixels.
    """
    with open_image(path) as image:
        return _rendered(mosaic_of(image), stretch, by_imagetyp)


def _rendered(mosaic: Mosaic, stretch: str,
              by_imagetyp: tuple[tuple[str, str], ...] | dict[str, str]) -> Image.Image:
    stretch = stretch_for(mosaic.imagetyp, stretch, by_imagetyp)
    # The flipped view costs nothing: the final cast to uint8 lays it out.
    return Image.fromarray(to_uint8(mosaic.data[::-1], stretch))


def preview_image(image: Image.Image, size: int = PREVIEW_SIZE) -> Image.Image:
    """Return ``image`` shrunk to at most ``size`` pixels on its longest side.

    Shrinks by an integer factor with box averaging (``Image.reduce``), then,
    if still too large, resamples the rest of the way; an image no larger
    than ``size`` is returned as it is.
    """
    longest = max(image.size)
    if longest <= size:
        return image
    factor = longest // size
    if factor > 1:
        image = image.reduce(factor)
    if max(image.size) > size:
        scale = size / max(image.size)
        new = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(new, Image.Resampling.BILINEAR)
    return image


def thumbnail_image(image: Image.Image, size: int = THUMBNAIL_SIZE) -> Image.Image:
    """Return a ``size`` x ``size`` thumbnail: the whole image, padded with black."""
    return ImageOps.pad(
        image, (size, size), method=Image.Resampling.LANCZOS, color=0, centering=(0.5, 0.5)
    )


def write_jpeg(image: Image.Image, dest: str | os.PathLike, quality: int = JPEG_QUALITY,
               scratch: str | os.PathLike | None = None) -> None:
    """Write ``image`` as JPEG to ``dest`` atomically (temporary name, then rename).

    Parameters
    ----------
    image : PIL.Image.Image
    dest : path-like
    quality : int
    scratch : path-like, optional
        Folder of the temporary file, on the file system of ``dest``
        (:mod:`acsq_mongo.images.scratch`); default: ``dest``'s folder.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(scratch) if scratch is not None else dest.parent
    folder.mkdir(parents=True, exist_ok=True)
    tmp = scratch_path(folder, dest)
    try:
        image.save(tmp, format="JPEG", quality=quality)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def make_quicklooks(
    rootname: str,
    proposid: int | None,
    files: Mapping[str, os.PathLike | str],
    settings: Settings,
    force: bool = False,
    stats: bool = True,
) -> QuicklookResult:
    """Make the quicklook images of one rootname.

    Parameters
    ----------
    rootname : str
        The 9-character rootname, e.g. ``"j94f05bgq"``.
    proposid : int or None
        Proposal ID: the images' folder (``unknown`` if None).
    files : mapping
        ``{filetype: absolute path of the FITS file}``; only image filetypes
        are used, others are ignored. The first of flt, drz, drc among them
        gives the thumbnail.
    settings : Settings
        Uses ``data`` (where images go), ``archive`` (to report error paths
        relative to it), ``quicklook_stretch`` and ``quicklook_stretch_by_imagetyp``.
    force : bool
        Make images even when they are newer than their FITS file.
    stats : bool
        Measure each file's statistics with its images (``result.stats``).

    Returns
    -------
    result : QuicklookResult
        Never raises for bad input (corrupt or truncated FITS, no SCI
        extension, missing file); such failures are in ``result.errors``.
    """
    result = QuicklookResult()
    rootname = rootname.lower()
    thumbnail = thumbnail_filetype(files)
    for filetype in IMAGE_FILETYPES:
        if filetype not in files:
            continue
        fits_path = Path(files[filetype])
        targets = quicklook_targets(rootname, proposid, filetype, filetype == thumbnail)
        try:
            outcome = _make_one(fits_path, targets, settings, force,
                                _measurer(result, filetype, rootname) if stats else None)
        except Exception as exc:
            message = " ".join(str(exc).split()) or type(exc).__name__
            if isinstance(exc, OSError) and exc.strerror:
                message = f"{exc.strerror}: {exc.filename or fits_path}"
            log.warning("%s: quicklook %s failed: %s", rootname, filetype, message)
            result.errors.append({
                "path": _report_path(fits_path, settings),
                "filetype": filetype,
                "stage": "quicklook",
                "error": message,
            })
        else:
            if outcome == "made":
                result.made += 1
                log.info("%s: made %s quicklook JPEG, preview%s", rootname, filetype,
                         " and thumbnail" if "thumbnail" in targets else "")
            else:
                result.skipped += 1
                log.debug("%s: %s quicklook is fresh, skipped", rootname, filetype)
        _record_existing(result.paths, filetype, targets, settings.data)
    return result


def _make_one(
    fits_path: Path, targets: Mapping[str, str], settings: Settings, force: bool,
    measure: Callable[[ImageFile], None] | None = None,
) -> str:
    """Make (or skip) one file's images; return ``"made"`` or ``"skipped"``.

    ``measure`` is called with the open file once its images are written.
    """
    fits_mtime = fits_path.stat().st_mtime_ns
    if not force and _all_fresh(targets, settings.data, fits_mtime):
        return "skipped"
    with open_image(fits_path) as opened:
        image = _rendered(mosaic_of(opened), settings.quicklook_stretch,
                          settings.quicklook_stretch_by_imagetyp)
        preview = preview_image(image)
        images = {"full": image, "preview": preview}
        if "thumbnail" in targets:
            images["thumbnail"] = thumbnail_image(preview)
        # Everything is rendered before anything is written.
        for kind, picture in images.items():
            write_jpeg(picture, settings.data / targets[kind],
                       scratch=scratch_dir(settings.data))
        if measure is not None:
            # On the file already open, its SCI pixels already read: measuring them
            # costs a tenth of the images (benchmarks/bench_quicklook.py).
            measure(opened)
    return "made"


def _measurer(result: QuicklookResult, filetype: str, rootname: str
              ) -> Callable[[ImageFile], None]:
    """What adds a file's statistics to ``result``; a failure only costs them (a warning)."""
    def measure(opened: ImageFile) -> None:
        try:
            result.stats[filetype] = statistics_of(opened, filetype)
        except Exception as exc:  # the images are made: statistics are a bonus
            log.warning("%s: statistics of %s failed: %s", rootname, filetype,
                        " ".join(str(exc).split()) or type(exc).__name__)
    return measure


def _all_fresh(targets: Mapping[str, str], data: Path, fits_mtime_ns: int) -> bool:
    """True if every target exists and is at least as new as the FITS file.

    "At least as new" rather than "newer": file systems stamp times at a
    coarse tick, so an image made right after its FITS file can share its
    mtime.
    """
    for relative in targets.values():
        try:
            if (data / relative).stat().st_mtime_ns < fits_mtime_ns:
                return False
        except FileNotFoundError:
            return False
    return True


def _record_existing(
    paths: dict[str, Any], filetype: str, targets: Mapping[str, str], data: Path
) -> None:
    if (data / targets["full"]).is_file():
        paths[filetype] = targets["full"]
    if (data / targets["preview"]).is_file():
        paths.setdefault("preview", {})[filetype] = targets["preview"]
    if "thumbnail" in targets and (data / targets["thumbnail"]).is_file():
        paths["thumbnail"] = targets["thumbnail"]


def _report_path(fits_path: Path, settings: Settings) -> str:
    if settings.archive is not None:
        try:
            return fits_path.relative_to(settings.archive).as_posix()
        except ValueError:
            pass
    return str(fits_path)
