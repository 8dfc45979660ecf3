"""Sky maps drawn with matplotlib and astropy's WCSAxes: where a query's rootnames lie.

Two panels, each a projection of astropy's WCS (wcslib), never one written here:

- an all-sky Mollweide map (``RA---MOL``) in ICRS, RA growing to the left as on
  the sky, with the galactic plane for orientation, and a point per target
  position (``ra_targ``, ``dec_targ``);
- when every position lies within :data:`ZOOM_RADIUS` of their centre, a
  zoomed gnomonic map (``RA---TAN``) of that field, with each footprint drawn
  as its polygon (the catalog's GeoJSON ``footprint``: ``[lon, lat]`` in
  degrees, lon = RA wrapped into (-180, 180]) where it has one, coloured by the
  image's filter with a legend (``groups``).

All angles are in degrees.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from astropy.visualization.wcsaxes.frame import EllipticalFrame
from astropy.wcs import WCS
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch, Polygon

from acsq_mongo.plots.colors import group_colors

__all__ = ["sky_map", "footprint_rings", "zoom_field", "ZOOM_RADIUS"]

#: A query's positions within this many degrees of their centre get the zoomed panel too.
ZOOM_RADIUS = 1.0
_POINT = "#0072b2"
_FOOTPRINT = "#d55e00"
_MOL_SCALE = 0.5  # degrees per pixel of the all-sky WCS
_LEGEND_MAX = 10  # filters the zoomed panel's legend names


def footprint_rings(geometry: Mapping[str, Any] | None) -> list[np.ndarray]:
    """Return the outer rings of a GeoJSON Polygon or MultiPolygon as ``(n, 2)`` RA, Dec arrays.

    RA comes back in [0, 360). Anything else (None, another type, a broken
    geometry) gives no ring: a footprint that cannot be read is not drawn.
    """
    if not isinstance(geometry, Mapping):
        return []
    kind, coords = geometry.get("type"), geometry.get("coordinates")
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else []
    rings = []
    for polygon in polygons or []:
        try:
            ring = np.asarray(polygon[0], dtype=float)
        except (TypeError, ValueError, IndexError):
            continue
        if ring.ndim == 2 and ring.shape[0] >= 3 and ring.shape[1] == 2:
            rings.append(np.column_stack([ring[:, 0] % 360.0, ring[:, 1]]))
    return rings


def zoom_field(ra: np.ndarray, dec: np.ndarray) -> tuple[SkyCoord, float] | None:
    """Return the centre and radius (degrees) of a small field, or None if it is not small."""
    if not len(ra):
        return None
    points = SkyCoord(ra * u.deg, dec * u.deg)
    xyz = points.cartesian.xyz.value.mean(axis=1)
    if np.linalg.norm(xyz) < 1e-9:
        return None
    centre = SkyCoord(x=xyz[0], y=xyz[1], z=xyz[2], representation_type="cartesian"
                      ).spherical
    centre = SkyCoord(centre.lon, centre.lat)
    radius = float(centre.separation(points).deg.max())
    return (centre, radius) if radius <= ZOOM_RADIUS else None


def _allsky_wcs() -> tuple[WCS, int, int]:
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---MOL", "DEC--MOL"]
    wcs.wcs.crval = [0.0, 0.0]
    wcs.wcs.cdelt = [-_MOL_SCALE, _MOL_SCALE]
    # Mollweide's ellipse spans +-2*sqrt(2)*180/pi by +-sqrt(2)*180/pi degrees.
    nx = int(np.ceil(2 * 2 * np.sqrt(2) * np.degrees(1) / _MOL_SCALE))
    ny = nx // 2
    wcs.wcs.crpix = [nx / 2 + 0.5, ny / 2 + 0.5]
    return wcs, nx, ny


def _zoom_wcs(centre: SkyCoord, radius: float, size: int = 400) -> WCS:
    half = max(radius * 1.25, 4.0 / 60.0)  # at least 4 arcmin: an ACS field and some sky
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [centre.ra.deg, centre.dec.deg]
    wcs.wcs.cdelt = [-2 * half / size, 2 * half / size]
    wcs.wcs.crpix = [size / 2 + 0.5, size / 2 + 0.5]
    return wcs


def _allsky_panel(fig: Figure, rect: list[float], ra: np.ndarray, dec: np.ndarray,
                  label: str) -> None:
    wcs, nx, ny = _allsky_wcs()
    ax = fig.add_axes(rect, projection=wcs, frame_class=EllipticalFrame)
    ax.set_xlim(-0.5, nx - 0.5)
    ax.set_ylim(-0.5, ny - 0.5)
    ax.coords.grid(True, color="#bbbbbb", linestyle=":", linewidth=0.6)
    ra_axis, dec_axis = ax.coords[0], ax.coords[1]
    ra_axis.set_major_formatter("hh")
    ra_axis.set_ticks(spacing=30 * u.deg, color="#777777")
    dec_axis.set_ticks(spacing=30 * u.deg, color="#777777")
    ra_axis.set_ticklabel(color="#555555", fontsize=7)
    dec_axis.set_ticklabel(color="#555555", fontsize=7)
    ra_axis.set_axislabel("")
    dec_axis.set_axislabel("")
    # WCSAxes puts no Dec labels on an elliptical frame: write them inside the left edge
    # of each parallel (RA 180 deg is the left edge, RA growing to the left).
    for parallel in (-60, -30, 0, 30, 60):
        x, y = wcs.world_to_pixel_values(180.0 - 1e-6, float(parallel))
        ax.text(float(x) + 6, float(y), f"{parallel:+d}°" if parallel else "0°", ha="left",
                va="bottom", fontsize=7, color="#555555", gid=f"dec-label-{parallel}")
    plane = SkyCoord(l=np.linspace(0, 360, 361) * u.deg, b=np.zeros(361) * u.deg,
                     frame="galactic").icrs
    px, py = wcs.world_to_pixel_values(plane.ra.deg, plane.dec.deg)
    jumps = np.flatnonzero(np.abs(np.diff(px)) > nx / 2) + 1
    for part_x, part_y in zip(np.split(px, jumps), np.split(py, jumps), strict=True):
        ax.plot(part_x, part_y, color="#999999", linewidth=0.8, linestyle="--")
    if len(ra):
        px, py = wcs.world_to_pixel_values(ra, dec)
        size = 9 if len(ra) < 200 else 3 if len(ra) < 20_000 else 1
        ax.scatter(px, py, s=size, color=_POINT, alpha=0.7, linewidths=0)
    ax.set_title(label, fontsize=10)


def _zoom_panel(fig: Figure, rect: list[float], ra: np.ndarray, dec: np.ndarray,
                footprints: Sequence[Any], field: tuple[SkyCoord, float],
                groups: Sequence[Any] = ()) -> None:
    centre, radius = field
    groups = list(groups) or [None] * len(footprints)
    pairs = [(ring, group) for geometry, group in zip(footprints, groups, strict=False)
             for ring in footprint_rings(geometry)]
    rings = [ring for ring, _ in pairs]
    counts: dict[Any, int] = {}
    for _, group in pairs:
        counts[group] = counts.get(group, 0) + 1
    order = sorted(counts, key=lambda g: (-counts[g], g is None, str(g)))
    colors = group_colors(order) if any(g is not None for g in order) else {None: _FOOTPRINT}
    if rings:  # show the footprints whole
        corners = np.concatenate(rings)
        reach = centre.separation(SkyCoord(corners[:, 0] * u.deg, corners[:, 1] * u.deg)).deg
        radius = max(radius, min(float(reach.max()), 2 * ZOOM_RADIUS))
    wcs = _zoom_wcs(centre, radius)
    ax = fig.add_axes(rect, projection=wcs)
    ax.set_xlim(-0.5, 399.5)
    ax.set_ylim(-0.5, 399.5)
    ax.set_aspect("equal")
    ax.coords.grid(True, color="#cccccc", linestyle=":", linewidth=0.6)
    ax.coords[0].set_major_formatter("hh:mm:ss")
    ax.coords[1].set_major_formatter("dd:mm")
    for coord in ax.coords:
        coord.set_ticklabel(fontsize=7)
    ax.coords[0].set_axislabel("RA", fontsize=8)
    ax.coords[1].set_axislabel("Dec", fontsize=8)
    for i, (ring, group) in enumerate(pairs):
        px, py = wcs.world_to_pixel_values(ring[:, 0], ring[:, 1])
        color = colors[group]
        # A faint fill, so that many images of one field stack up but their edges still show.
        ax.add_patch(Polygon(np.column_stack([px, py]), closed=True, fill=True,
                             facecolor=to_rgba(color, 0.05), edgecolor=color,
                             linewidth=0.9, gid=f"footprint-{i}"))
    if any(g is not None for g in order):
        shown = order[:_LEGEND_MAX]
        handles = [Patch(facecolor=to_rgba(colors[g], 0.15), edgecolor=colors[g],
                         label=f"{g if g is not None else '(no filter)'} ({counts[g]})")
                   for g in shown]
        if len(order) > len(shown):
            handles.append(Patch(facecolor="none", edgecolor="none",
                                 label=f"… {len(order) - len(shown)} more"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                  fontsize=7, frameon=False, title="filter", title_fontsize=7,
                  borderaxespad=0.0, handlelength=1.2)
    drawn = len(rings)
    px, py = wcs.world_to_pixel_values(ra, dec)
    ax.scatter(px, py, s=14, marker="+", color=_POINT, linewidths=1.0)
    what = f"{drawn:,} footprint polygon{'s' if drawn != 1 else ''}" if drawn \
        else "no footprints stored"
    ax.set_title(f"the field: {2 * radius * 60:.1f}' across; {what}", fontsize=10)


def sky_map(ra: Sequence[float], dec: Sequence[float], footprints: Sequence[Any] = (),
            *, label: str = "", fmt: str = "png", groups: Sequence[Any] = ()) -> bytes:
    """Draw where some positions lie: all-sky, and zoomed with footprints for a small field.

    Parameters
    ----------
    ra, dec : sequence of float
        Target positions in degrees (ICRS).
    footprints : sequence of mapping
        GeoJSON geometries (Polygon or MultiPolygon; None where absent).
    label : str
        The all-sky panel's title (e.g. "1,234 rootnames").
    groups : sequence, optional
        What each footprint is coloured by (its filter), parallel to ``footprints``;
        the zoomed panel then has a legend. Without it, every footprint is one colour.
    fmt : {"png", "svg"}

    Returns
    -------
    data : bytes
    """
    ra_ = np.asarray(ra, dtype=float) % 360.0
    dec_ = np.asarray(dec, dtype=float)
    field = zoom_field(ra_, dec_)
    # Fixed panels (in figure fractions): WCSAxes' tick labels are not all known to a
    # layout engine, so the room for them is set aside here.
    legend = field is not None and any(g is not None for g in groups)
    fig = Figure(figsize=(11.4 if legend else 10.0, 4.2) if field else (7.2, 4.0), dpi=100)
    if field and legend:
        _allsky_panel(fig, [0.01, 0.03, 0.51, 0.88], ra_, dec_, label)
        _zoom_panel(fig, [0.60, 0.12, 0.26, 0.78], ra_, dec_, footprints, field, groups)
    elif field:
        _allsky_panel(fig, [0.01, 0.03, 0.58, 0.88], ra_, dec_, label)
        _zoom_panel(fig, [0.68, 0.12, 0.30, 0.78], ra_, dec_, footprints, field)
    else:
        _allsky_panel(fig, [0.02, 0.03, 0.96, 0.88], ra_, dec_, label)
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format=fmt, dpi=100, metadata={"Date": None} if fmt == "svg" else {})
    return buffer.getvalue()
