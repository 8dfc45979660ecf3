"""VOSI documents of the VO services: availability and capabilities (IVOA VOSI 1.1).

Written as plain XML text from a few templates (the documents are small and
fixed); every URL is escaped. The capabilities name each service's standard
(``ivo://ivoa.net/std/ConeSearch``, ``ivo://ivoa.net/std/SIA#query-2.0``) with
its access URL, and the two VOSI endpoints themselves, which is what pyvo's
``SIA2Service`` reads to find where to send a query.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

__all__ = ["availability_xml", "capabilities_xml", "VOSI_MIME", "SCS_ID", "SIA2_ID"]

VOSI_MIME = "text/xml"
SCS_ID = "ivo://ivoa.net/std/ConeSearch"
SIA2_ID = "ivo://ivoa.net/std/SIA#query-2.0"

_AVAILABILITY = """<?xml version="1.0" encoding="UTF-8"?>
<vosi:availability xmlns:vosi="http://www.ivoa.net/xml/VOSIAvailability/v1.0">
  <vosi:available>{available}</vosi:available>
  <vosi:note>{note}</vosi:note>
</vosi:availability>
"""

_CAPABILITIES = """<?xml version="1.0" encoding="UTF-8"?>
<vosi:capabilities xmlns:vosi="http://www.ivoa.net/xml/VOSICapabilities/v1.0"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xmlns:vr="http://www.ivoa.net/xml/VOResource/v1.0"
    xmlns:vs="http://www.ivoa.net/xml/VODataService/v1.1">
  <capability standardID="ivo://ivoa.net/std/VOSI#capabilities">
    <interface xsi:type="vs:ParamHTTP">
      <accessURL use="full">{base}/capabilities</accessURL>
    </interface>
  </capability>
  <capability standardID="ivo://ivoa.net/std/VOSI#availability">
    <interface xsi:type="vs:ParamHTTP">
      <accessURL use="full">{base}/availability</accessURL>
    </interface>
  </capability>
{service}</vosi:capabilities>
"""

# The ConeSearch registry extension (cs:ConeSearch: maxSR, maxRecords, verbosity) is
# left out: pyvo's capabilities parser does not know it and refuses it when strict. The
# most rows one answer holds is in the capability's description instead.
_SCS = """  <capability standardID="{standard}">
    <description>Cone search on target positions; at most {max_records} rows an answer,
      SR up to 180 degrees, VERB 1 to 3.</description>
    <interface xsi:type="vs:ParamHTTP" role="std">
      <accessURL use="base">{base}?</accessURL>
      <queryType>GET</queryType>
      <resultType>application/x-votable+xml</resultType>
    </interface>
  </capability>
"""

_SIA2 = """  <capability standardID="{standard}">
    <interface xsi:type="vs:ParamHTTP" role="std" version="2.0">
      <accessURL use="base">{base}</accessURL>
      <queryType>GET</queryType>
      <resultType>application/x-votable+xml</resultType>
    </interface>
  </capability>
"""


def availability_xml(available: bool, note: str) -> str:
    """Return a VOSI availability document."""
    return _AVAILABILITY.format(available="true" if available else "false", note=escape(note))


def capabilities_xml(standard: str, base_url: str, max_records: int) -> str:
    """Return the VOSI capabilities of one service.

    Parameters
    ----------
    standard : str
        :data:`SCS_ID` or :data:`SIA2_ID`.
    base_url : str
        The service's absolute URL (``http://host/vo/scs``), without a trailing ``/``.
    max_records : int
        The most rows one answer holds (``max_rows``).
    """
    base = escape(base_url)
    template = _SCS if standard == SCS_ID else _SIA2
    service = template.format(standard=escape(standard), base=base, max_records=max_records)
    return _CAPABILITIES.format(base=base, service=service)
