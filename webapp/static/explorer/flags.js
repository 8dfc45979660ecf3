// Flagging from the explorer: a box drawn on the image (or the pinned pixel) is sent with a
// flag and a comment; flagged regions are drawn on the map and listed.

const STYLE = { color: "#ffcc00", weight: 2, fill: false, dashArray: "4 3" };

/** A region's corners in picture coordinates of this view, or null if it is elsewhere. */
function onPicture(region, meta, state) {
  if (region.filetype !== meta.filetype || region.extension !== meta.ext) return null;
  let { y0, y1 } = region;
  if (region.extver !== null && state.ver === "all") {
    const block = meta.blocks.find((b) => b.extver === region.extver);
    if (!block) return null;
    y0 += block.row0;
    y1 += block.row0;
  } else if (region.extver === null && state.ver !== "all") {
    return null;
  } else if (region.extver !== null && String(region.extver) !== state.ver) {
    return null;
  }
  return { x0: region.x0, x1: region.x1, y0, y1 };
}

export class FlagTool {
  constructor(map, meta, state, pinned) {
    this.map = map;
    this.meta = meta;
    this.state = state;
    this.getPinned = pinned;
    this.drawing = false;
    this.box = null;
    this.shapes = L.layerGroup().addTo(map);
    this.form = document.getElementById("flag-form");
    this.where = document.getElementById("flag-where");
    this.show(meta.regions);
    this.trails = L.layerGroup().addTo(map);
    this.showTrails(meta.trails || []);
    if (!this.form) return;
    document.getElementById("draw-box").addEventListener("click", () => this.startDrawing());
    this.form.addEventListener("submit", (event) => { event.preventDefault(); this.send(); });
    map.on("mousedown", (e) => this.down(e));
    map.on("mousemove", (e) => this.move(e));
    map.on("mouseup", (e) => this.up(e));
  }

  /** True once after a box is drawn: the map's click that follows is the end of the drag. */
  consumeClick() {
    const drawn = this.drawn;
    this.drawn = false;
    return drawn;
  }

  pinned(where) {
    if (this.form && !this.drawing) {
      this.clearBox();
      this.where.textContent = `at the pinned pixel x = ${where.col + 1}, y = ${this.meta.height - where.rowTop}`;
    }
  }

  startDrawing() {
    this.drawing = true;
    this.map.dragging.disable();
    this.map.getContainer().classList.add("drawing");
    this.where.textContent = "drag on the image to draw the box";
  }

  clearBox() {
    this.box?.remove();
    this.box = null;
    this.corners = null;
  }

  down(e) {
    if (!this.drawing) return;
    this.clearBox();
    this.anchor = e.latlng;
  }

  move(e) {
    if (!this.drawing || !this.anchor) return;
    const bounds = L.latLngBounds(this.anchor, e.latlng);
    if (this.box) this.box.setBounds(bounds);
    else this.box = L.rectangle(bounds, { ...STYLE, dashArray: null, color: "#ff2d55" }).addTo(this.map);
  }

  up(e) {
    if (!this.drawing || !this.anchor) return;
    const h = this.meta.height;
    const cols = [this.anchor.lng, e.latlng.lng].map(Math.floor);
    const rows = [-this.anchor.lat, -e.latlng.lat].map(Math.floor);
    const clamp = (v, hi) => Math.min(Math.max(v, 0), hi - 1);
    const c0 = clamp(Math.min(...cols), this.meta.width);
    const c1 = clamp(Math.max(...cols), this.meta.width);
    const r0 = clamp(Math.min(...rows), h);
    const r1 = clamp(Math.max(...rows), h);
    this.corners = { x0: c0 + 1, x1: c1 + 1, y0: h - r1, y1: h - r0 };
    this.box?.setBounds([[-r1 - 1, c0], [-r0, c1 + 1]]);
    this.anchor = null;
    this.drawing = false;
    this.drawn = true; // the click that ends the drag is not a pin
    this.map.dragging.enable();
    this.map.getContainer().classList.remove("drawing");
    const c = this.corners;
    this.where.textContent = `box x ${c.x0}-${c.x1}, y ${c.y0}-${c.y1}`;
  }

  async send() {
    let corners = this.corners;
    const pinned = this.getPinned();
    if (!corners && pinned) {
      const y = this.meta.height - pinned.rowTop;
      corners = { x0: pinned.col + 1, x1: pinned.col + 1, y0: y, y1: y };
    }
    if (!corners) {
      this.where.textContent = "pin a pixel or draw a box first";
      return;
    }
    const body = new FormData(this.form);
    body.set("ext", this.meta.ext);
    body.set("ver", this.state.ver);
    for (const [key, value] of Object.entries(corners)) body.set(key, String(value));
    const response = await fetch(this.meta.flag_url, {
      method: "POST", body, credentials: "same-origin",
      headers: { "X-CSRFToken": body.get("csrf_token") || "" },
    });
    if (!response.ok) {
      this.where.textContent = `not flagged: HTTP ${response.status}`;
      return;
    }
    const answer = await response.json();
    this.clearBox();
    this.show(answer.regions);
    this.where.textContent = `flagged ${answer.event.flag} (see the image view)`;
    document.getElementById("explorer").dataset.flagged = String(answer.regions.length);
  }

  /** The proposed trails of this view, dashed (the look is the CSS's: no inline style). */
  showTrails(trails) {
    this.trails.clearLayers();
    const h = this.meta.height;
    for (const trail of trails) {
      const [x0, y0, x1, y1] = trail.picture; // 1-based FITS pixels of this picture
      L.polyline([[y0 - h - 0.5, x0 - 0.5], [y1 - h - 0.5, x1 - 0.5]], {
        className: "proposed-trail", interactive: true,
      }).bindTooltip(`proposed ${trail.flag}`, { permanent: true, className: "trail-label" })
        .addTo(this.trails);
    }
    document.getElementById("explorer").dataset.trails = String(trails.length);
  }

  show(regions) {
    this.shapes.clearLayers();
    const list = document.getElementById("regions");
    list.replaceChildren();
    for (const region of regions) {
      const item = document.createElement("li");
      const chip = region.extver === null ? "stitched" : `${region.extension},${region.extver}`;
      item.textContent = `${region.flag}: ${region.filetype} ${chip} x ${region.x0}-${region.x1}, ` +
        `y ${region.y0}-${region.y1} · ${region.user}` + (region.comment ? ` · ${region.comment}` : "");
      list.append(item);
      const at = onPicture(region, this.meta, this.state);
      if (!at) continue;
      const h = this.meta.height;
      L.rectangle([[at.y0 - h - 1, at.x0 - 1], [at.y1 - h, at.x1]], STYLE)
        .bindTooltip(region.flag).addTo(this.shapes);
    }
    if (!regions.length) {
      const none = document.createElement("li");
      none.className = "muted";
      none.textContent = "none";
      list.append(none);
    }
  }
}
