"""The ACS data quality (DQ) flags: what each bit of a ``DQ`` extension means.

Source: the ACS Data Handbook (STScI), the table of ACS data quality flags in
its chapter on the structure of ACS data (the ``DQ`` array of raw, flt, flc,
crj and crc files); the same sixteen values and meanings are in the ACS DQ
table that STScI's stginga ships for its DQ plugin. Bit 15 (32768) is unused
by calacs. The image explorer shows a DQ pixel's set bits by these names.
"""

from __future__ import annotations

__all__ = ["DQ_FLAGS", "dq_names"]

#: ``(value, name, meaning)`` of each ACS DQ bit, from the ACS Data Handbook's table.
DQ_FLAGS: tuple[tuple[int, str, str], ...] = (
    (1, "LOST", "Reed-Solomon decoding error: data lost in compression or transmission"),
    (2, "FILLED", "data replaced by fill value"),
    (4, "BADPIX", "bad detector pixel, or beyond the aperture"),
    (8, "MASKED", "masked by an aperture feature (HRC occulting finger)"),
    (16, "HOT", "hot pixel"),
    (32, "CTE", "CTE tail (of a hot pixel)"),
    (64, "WARM", "warm pixel (before 2004-10-08: permanent hot pixel)"),
    (128, "BADCOL", "bad column (bias structure)"),
    (256, "SATURATED", "full-well saturation"),
    (512, "BADREF", "bad pixel in a reference file (flat field, polarizer, dust mote)"),
    (1024, "TRAP", "charge trap (WFC: sink pixel)"),
    (2048, "ATODSAT", "A-to-D converter saturation"),
    (4096, "CRDRIZ", "cosmic ray rejected by AstroDrizzle (MultiDrizzle)"),
    (8192, "CRCALACS", "cosmic ray rejected by calacs (ACSREJ)"),
    (16384, "USER", "flagged by hand (e.g. a ghost or crosstalk)"),
    (32768, "UNUSED", "not used"),
)


def dq_names(value: int) -> list[str]:
    """The names of the bits set in a DQ value (``[]`` for 0, a good pixel)."""
    value = int(value) & 0xFFFF
    return [name for bit, name, _ in DQ_FLAGS if value & bit]
