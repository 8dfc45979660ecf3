// The image explorer: one image file at full resolution in a Leaflet map (CRS.Simple).
//
// Tiles are float32 pixels (webapp/explore_pixels.py); this script stretches them on the
// client, so a change of interval, stretch or colours redraws the tiles in memory with no
// request. Map coordinates: lng = picture column (0 at the left edge), lat = -(picture row
// counted from the top), so Leaflet's tile (x, y) at zoom -L is the server's tile of level L.
// The page's URL holds the state; see webapp/explore.py for its parameters.
import { COLORMAPS } from "./colormaps.js";
import { dqNames, formatFloat32, pixelToSky, sexagesimal } from "./readout.js";
import { finite, limits, paint, percentileOfSorted } from "./stretch.js";
import { drawCut } from "./cuts.js";
import { FlagTool } from "./flags.js";

const root = document.getElementById("explorer");
const controls = document.getElementById("controls");
const status = document.getElementById("status");
const field = (name) => document.querySelector(`#readout [data-field="${name}"]`);
const TILE = 256;
const MAX_ZOOM = 6; // 64 screen pixels per image pixel

const url = new URL(window.location.href);
const q = url.searchParams;
const state = {
  ext: (q.get("ext") || "SCI").toUpperCase(), ver: q.get("ver") || "all",
  interval: q.get("interval"), kept: Number(q.get("kept") || 0) || null,
  lo: q.get("lo"), hi: q.get("hi"), stretch: q.get("stretch"),
  cmap: q.get("cmap") || "gray", invert: q.get("invert") === "1",
  cmp: q.get("cmp") || "", mode: q.get("mode") || "blink", dq: q.get("dq") === "1",
  vmin: 0, vmax: 1, showOther: false,
};

/** Fetch JSON, or throw with the server's status. */
async function getJSON(address) {
  const response = await fetch(address, { credentials: "same-origin" });
  if (!response.ok) throw new Error(`${address}: HTTP ${response.status}`);
  return response.json();
}

/** One image's pixels: its meta data, its sample and its tiles (cached while the page lives). */
class Source {
  constructor(meta) {
    this.meta = meta;
    this.tiles = new Map();
  }

  part(name) {
    if (!this.tiles.has(name)) {
      const address = this.meta.pixels.replace("{part}", name);
      const promise = fetch(address, { credentials: "same-origin" })
        .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`${address}: ${r.status}`))))
        .then((b) => new Float32Array(b));
      promise.catch(() => this.tiles.delete(name));
      this.tiles.set(name, promise);
      if (this.tiles.size > 160) this.tiles.delete(this.tiles.keys().next().value);
    }
    return this.tiles.get(name);
  }

  /** The exact value of picture pixel (col, rowTop), 0-based, from a level-0 tile. */
  async value(col, rowTop) {
    const tile = await this.part(`0-${Math.floor(col / TILE)}-${Math.floor(rowTop / TILE)}`);
    return tile[(rowTop % TILE) * TILE + (col % TILE)];
  }
}

/** A Leaflet layer of canvas tiles painted from float32 pixels; `other` gives a difference. */
const FitsLayer = L.GridLayer.extend({
  initialize(source, view, options) {
    L.GridLayer.prototype.initialize.call(this, options);
    this.source = source;
    this.view = view; // {vmin, vmax, stretch, table, invert, other}
    this.live = new Set();
    this.on("tileunload", (e) => this.live.delete(e.tile));
  },

  createTile(coords, done) {
    const canvas = document.createElement("canvas");
    canvas.width = TILE;
    canvas.height = TILE;
    const name = `${-coords.z}-${coords.x}-${coords.y}`;
    const parts = [this.source.part(name), this.view.other?.part(name), limitsKnown,
      this.view.dq?.part(name).catch(() => null)]; // a file without DQ: no overlay
    Promise.all(parts).then(([a, b, , dq]) => {
      canvas.dq = dq;
      if (b) {
        const d = new Float32Array(a.length);
        for (let i = 0; i < a.length; i++) d[i] = a[i] - b[i];
        canvas.pixels = d;
      } else {
        canvas.pixels = a;
      }
      this.live.add(canvas);
      this.paintTile(canvas);
      done(null, canvas);
    }, (error) => done(error, canvas));
    return canvas;
  },

  paintTile(canvas) {
    const context = canvas.getContext("2d");
    const image = context.createImageData(TILE, TILE);
    const v = this.view;
    paint(canvas.pixels, image.data, v.vmin, v.vmax, v.stretch, v.table, v.invert);
    if (canvas.dq) overlayDQ(canvas.dq, image.data);
    context.putImageData(image, 0, 0);
  },

  repaint() {
    for (const canvas of this.live) this.paintTile(canvas);
  },
});

// Tiles are fetched as soon as the map exists, and painted once the limits are known
// (from the sample, fetched at the same time as the meta data).
let knowLimits;
const limitsKnown = new Promise((resolve) => { knowLimits = resolve; });

/** Tint in red every pixel whose DQ value has a bit set (the DQ overlay). */
function overlayDQ(dq, rgba) {
  for (let i = 0, o = 0; i < dq.length; i++, o += 4) {
    if (dq[i] > 0) {
      rgba[o] = 255;
      rgba[o + 1] >>= 2;
      rgba[o + 2] >>= 2;
      rgba[o + 3] = 255;
    }
  }
}

let meta;
let main;
let dqSource = null;
let other = null;
let otherSample = null;
let sample;
let map;
let map2 = null;
let layer;
let layer2 = null;
let blinkTimer = null;
let pinned = null;
let flags = null;

const display = () => ({
  vmin: state.vmin, vmax: state.vmax, stretch: state.stretch,
  table: COLORMAPS[state.cmap] || COLORMAPS.gray, invert: state.invert,
});

/** The limits of the current interval, from the sample (of the difference in diff mode). */
function computeLimits() {
  if (state.interval === "manual") {
    state.vmin = Number(state.lo);
    state.vmax = Number(state.hi);
    return;
  }
  let values = sample;
  if (state.mode === "diff" && otherSample) {
    values = new Float32Array(sample.length);
    for (let i = 0; i < sample.length; i++) values[i] = sample[i] - otherSample[i];
  }
  if (state.interval === "percentile") {
    // The sample sorted once per image: each percentile is then a look-up.
    if (computeLimits.sorted?.source !== values) {
      computeLimits.sorted = { source: values, values: finite(values).sort() };
    }
    const sorted = computeLimits.sorted.values;
    const lower = (100 - state.kept) / 2;
    [state.vmin, state.vmax] = [percentileOfSorted(sorted, lower),
      percentileOfSorted(sorted, 100 - lower)];
    if (!(state.vmax > state.vmin)) [state.vmin, state.vmax] = limits(values, "minmax");
  } else {
    [state.vmin, state.vmax] = limits(values, state.interval, state.kept);
  }
  controls.elements.lo.value = formatFloat32(state.vmin);
  controls.elements.hi.value = formatFloat32(state.vmax);
}

/** Picture position (0-based column, row from the top) of a map position. */
const cell = (latlng) => [Math.floor(latlng.lng), Math.floor(-latlng.lat)];

/** The chip under a picture position, and the FITS x, y in it. */
function locate(col, rowTop) {
  if (col < 0 || rowTop < 0 || col >= meta.width || rowTop >= meta.height) return null;
  const fromBottom = meta.height - 1 - rowTop;
  for (const block of meta.blocks) {
    if (fromBottom >= block.row0 && fromBottom < block.row0 + block.height && col < block.width) {
      return { block, x: col + 1, y: fromBottom - block.row0 + 1, pictureY: fromBottom + 1 };
    }
  }
  return null;
}

function writeURL() {
  const p = new URLSearchParams();
  p.set("ext", state.ext);
  p.set("ver", state.ver);
  if (map) {
    const c = map.getCenter();
    p.set("x", (c.lng + 0.5).toFixed(1));
    p.set("y", (meta.height + c.lat + 0.5).toFixed(1));
    p.set("z", String(map.getZoom()));
  }
  p.set("interval", state.interval);
  if (state.interval === "percentile") p.set("kept", String(state.kept));
  if (state.interval === "manual") { p.set("lo", state.lo); p.set("hi", state.hi); }
  p.set("stretch", state.stretch);
  p.set("cmap", state.cmap);
  if (state.invert) p.set("invert", "1");
  if (state.cmp) { p.set("cmp", state.cmp); p.set("mode", state.mode); }
  if (state.dq && state.ext !== "DQ") p.set("dq", "1");
  if (pinned) { p.set("px", String(pinned.col + 1)); p.set("py", String(meta.height - pinned.rowTop)); }
  window.history.replaceState(null, "", `${url.pathname}?${p}`);
}

let hoverSerial = 0;
async function readout(latlng) {
  const [col, rowTop] = cell(latlng);
  const at = locate(col, rowTop);
  const serial = ++hoverSerial;
  if (!at) {
    for (const name of ["xy", "chip", "value", "other", "ra", "dec", "dq"]) field(name).textContent = "";
    return;
  }
  const { block } = at;
  field("xy").textContent = `${at.x}, ${at.y}`;
  field("chip").textContent = `${state.ext},${block.extver}` +
    (block.ccdchip ? ` (CCDCHIP ${block.ccdchip})` : "") +
    (meta.blocks.length > 1 ? ` · picture y ${at.pictureY}` : "");
  if (block.wcs) {
    const [ra, dec] = pixelToSky(block.wcs, at.x, at.y);
    const [h, d] = sexagesimal(ra, dec);
    field("ra").textContent = `${ra.toFixed(7)}° ${h}`;
    field("dec").textContent = `${dec.toFixed(7)}° ${d}`;
  } else {
    field("ra").textContent = "no sky WCS";
    field("dec").textContent = "";
  }
  const shown = state.showOther && other && state.mode === "blink" ? other : main;
  const value = await shown.value(col, rowTop);
  if (serial !== hoverSerial) return;
  field("value").textContent = formatFloat32(value) + (shown === other ? ` (${state.cmp})` : "");
  field("value").dataset.value = String(value);
  let bits = state.ext === "DQ" ? value : null;
  if (bits === null && dqSource) bits = await dqSource.value(col, rowTop).catch(() => null);
  if (serial !== hoverSerial) return;
  field("dq").textContent = bits === null ? ""
    : `${bits}: ${dqNames(bits, meta.dq).join(", ") || "none (good pixel)"}`;
  if (other) {
    const compared = await (shown === other ? main : other).value(col, rowTop);
    if (serial === hoverSerial) {
      const difference = state.mode === "diff"
        ? `; difference ${formatFloat32(Math.fround(value - compared))}` : "";
      field("other").textContent =
        `${formatFloat32(compared)} (${shown === other ? "this" : state.cmp})${difference}`;
    }
  } else {
    field("other").textContent = "";
  }
}

function pin(latlng) {
  const [col, rowTop] = cell(latlng);
  const at = locate(col, rowTop);
  if (!at) return;
  pinned = { col, rowTop, at };
  flags?.pinned(pinned);
  if (pin.marker) pin.marker.remove();
  pin.marker = L.rectangle([[-rowTop - 1, col], [-rowTop, col + 1]],
    { color: "#ff2d55", weight: 2, fill: false, interactive: false }).addTo(map);
  const chip = `ver=${state.ver === "all" ? "all&chip=" + at.block.extver : state.ver}`;
  const common = `ext=${state.ext}&${chip}`;
  document.getElementById("pin-text").textContent =
    `Pinned ${state.ext},${at.block.extver} x = ${at.x}, y = ${at.y}.`;
  for (const [axis, index] of [["row", at.y], ["column", at.x]]) {
    const query = `${common}&axis=${axis}&index=${index}`;
    document.getElementById(`csv-${axis}`).href = `${meta.cut_csv}?${query}`;
    getJSON(`${meta.cut}?${query}`).then((cut) => drawCut(document.getElementById(`cut-${axis}`),
      cut, axis === "row" ? at.x : at.y));
  }
  document.getElementById("cut-links").hidden = false;
  writeURL();
}

function repaint() {
  layer.view = { ...display(), other: layer.view.other, dq: layer.view.dq };
  layer.repaint();
  if (layer2) {
    layer2.view = display();
    layer2.repaint();
  }
}

function setBlink(running) {
  clearInterval(blinkTimer);
  blinkTimer = running ? setInterval(() => swap(), 700) : null;
}

function swap() {
  state.showOther = !state.showOther;
  layer2?.setOpacity(state.showOther ? 1 : 0);
  status.textContent = `Showing ${state.showOther ? state.cmp : meta.filetype}`;
  status.dataset.showing = state.showOther ? "other" : "this";
}

/** Set up the comparison the controls ask for (blink, side by side or difference). */
async function compare() {
  setBlink(false);
  layer2?.remove();
  layer2 = null;
  if (map2) { map2.remove(); map2 = null; }
  document.getElementById("map2").hidden = true;
  document.getElementById("swap").hidden = true;
  document.getElementById("blinking").hidden = true;
  other = null;
  otherSample = null;
  state.showOther = false;
  if (state.cmp) {
    const [rootname, filetype] = state.cmp.includes("/") ? state.cmp.split("/")
      : [meta.rootname, state.cmp];
    const address = meta.cut.replace(/\/explore\/[^/]+\/[^/]+\/cut\.json$/,
      `/explore/${rootname}/${filetype}/meta.json`);
    const otherMeta = await getJSON(`${address}?ext=${state.ext}&ver=${state.ver}`);
    if (otherMeta.width !== meta.width || otherMeta.height !== meta.height) {
      status.textContent = `${state.cmp} is ${otherMeta.width} x ${otherMeta.height}, ` +
        `not ${meta.width} x ${meta.height}: no comparison.`;
    } else {
      other = new Source(otherMeta);
      otherSample = await other.part("sample");
    }
  }
  computeLimits();
  const options = layerOptions();
  layer.remove();
  layer = new FitsLayer(main, { ...display(), other: other && state.mode === "diff" ? other : null,
    dq: dqSource }, options).addTo(map);
  if (other && state.mode === "blink") {
    layer2 = new FitsLayer(other, display(), { ...options, opacity: 0 }).addTo(map);
    document.getElementById("swap").hidden = false;
    document.getElementById("blinking").hidden = false;
    status.textContent = `Showing ${meta.filetype}; "Show the other" or b swaps with ${state.cmp}`;
    status.dataset.showing = "this";
  } else if (other && state.mode === "side") {
    const box = document.getElementById("map2");
    box.hidden = false;
    map.invalidateSize();
    map2 = L.map(box, mapOptions()).setView(map.getCenter(), map.getZoom(), { animate: false });
    layer2 = new FitsLayer(other, display(), options).addTo(map2);
    map.on("move", () => map2?.setView(map.getCenter(), map.getZoom(), { animate: false }));
    map2.on("move", () => map.setView(map2.getCenter(), map2.getZoom(), { animate: false }));
    map2.on("mousemove", (e) => readout(e.latlng));
  } else if (other) {
    status.textContent = `${meta.filetype} minus ${state.cmp}`;
  }
  map.invalidateSize();
  writeURL();
}

const mapOptions = () => ({
  crs: L.CRS.Simple, minZoom: -meta.levels - 1, maxZoom: MAX_ZOOM, zoomSnap: 1,
  attributionControl: false, keyboard: true, fadeAnimation: false,
});

const layerOptions = () => ({
  tileSize: TILE, minNativeZoom: -meta.levels, maxNativeZoom: 0, minZoom: -meta.levels - 1,
  maxZoom: MAX_ZOOM, noWrap: true, bounds: L.latLngBounds([[-meta.height, 0], [0, meta.width]]),
  keepBuffer: 1, updateWhenZooming: false,
});

function readControls() {
  const e = controls.elements;
  state.interval = e.interval.value;
  state.kept = Number(e.kept.value);
  state.lo = e.lo.value;
  state.hi = e.hi.value;
  state.stretch = e.stretch.value;
  state.cmap = e.cmap.value;
  state.invert = e.invert.checked;
}

/** The DQ tiles of the same chips, when the overlay is on (and the view is not DQ itself). */
function setDQ() {
  dqSource = state.dq && state.ext !== "DQ"
    ? new Source({ ...meta, pixels: meta.pixels.replace(`/pixels/${meta.ext}/`, "/pixels/DQ/") })
    : null;
}

function fillControls() {
  const e = controls.elements;
  e.dq.checked = state.dq;
  e.dq.disabled = state.ext === "DQ";
  e.ext.value = state.ext;
  e.ver.value = state.ver;
  e.interval.value = state.interval;
  e.kept.value = String(state.kept);
  if (e.kept.value === "") e.kept.value = "98";
  e.stretch.value = state.stretch;
  e.cmap.value = state.cmap;
  e.invert.checked = state.invert;
  e.mode.value = state.mode;
  for (const choice of meta.compare) e.cmp.add(new Option(choice.label, choice.value));
  e.cmp.value = state.cmp;
}

async function start() {
  const metaUrl = root.dataset.metaUrl;
  const sampleWanted = fetch(root.dataset.sampleUrl, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.arrayBuffer() : Promise.reject(new Error(`sample: HTTP ${r.status}`))));
  meta = await getJSON(`${metaUrl}?ext=${state.ext}&ver=${state.ver}`);
  state.interval ||= meta.default.interval;
  state.kept ||= meta.default.kept;
  state.stretch ||= meta.default.stretch;
  if (state.interval === "manual" && (state.lo === null || state.hi === null)) {
    state.interval = meta.default.interval;
  }
  fillControls();
  main = new Source(meta);
  setDQ();
  map = L.map("map", mapOptions());
  layer = new FitsLayer(main, { ...display(), other: null, dq: dqSource }, layerOptions());
  // The first picture: every tile of the first view drawn, in ms since the page was asked for.
  layer.once("load", () => { root.dataset.firstPictureMs = performance.now().toFixed(0); });
  const x = Number(q.get("x"));
  const y = Number(q.get("y"));
  if (q.has("x") && q.has("y") && q.has("z")) {
    map.setView([y - meta.height - 0.5, x - 0.5], Number(q.get("z")), { animate: false });
  } else {
    map.fitBounds([[-meta.height, 0], [0, meta.width]], { animate: false });
  }
  layer.addTo(map);
  sample = new Float32Array(await sampleWanted);
  computeLimits();
  layer.view = { ...display(), other: null, dq: dqSource };
  knowLimits();
  map.on("mousemove", (e) => readout(e.latlng));
  map.on("click", (e) => { if (!flags?.drawing && !flags?.consumeClick()) pin(e.latlng); });
  map.on("moveend", writeURL);
  flags = new FlagTool(map, meta, state, () => pinned);
  status.textContent = `${meta.rootname} ${meta.filetype} ${meta.ext}: ${meta.width} x ${meta.height}`;
  if (state.cmp) await compare();
  if (q.has("px") && q.has("py")) {
    const px = Number(q.get("px"));
    const py = Number(q.get("py"));
    pin(L.latLng(py - meta.height - 0.5, px - 0.5));
  }
  writeURL();
  root.dataset.ready = "1";
}

controls.addEventListener("change", (event) => {
  const name = event.target.name;
  if (name === "ext" || name === "ver") {
    const p = new URLSearchParams(window.location.search);
    p.set(name, event.target.value);
    if (name === "ext") p.delete("ver");
    p.delete("px");
    p.delete("py");
    window.location.search = p.toString();
    return;
  }
  if (name === "blink") { setBlink(event.target.checked); return; }
  if (name === "dq") {
    state.dq = event.target.checked;
    setDQ();
    compare().catch(fail); // the layers again, with or without the DQ tiles
    return;
  }
  if (name === "cmp" || name === "mode") {
    state.cmp = controls.elements.cmp.value;
    state.mode = controls.elements.mode.value;
    compare().catch(fail);
    return;
  }
  if (name === "lo" || name === "hi") controls.elements.interval.value = "manual";
  readControls();
  const started = performance.now();
  computeLimits();
  repaint();
  // Until the browser has the new picture on screen: the next animation frame.
  requestAnimationFrame(() => { root.dataset.stretchMs = (performance.now() - started).toFixed(1); });
  writeURL();
});
controls.addEventListener("submit", (event) => event.preventDefault());
document.getElementById("swap").addEventListener("click", swap);
document.addEventListener("keydown", (event) => {
  if (event.key === "b" && layer2 && state.mode === "blink" && event.target.tagName !== "TEXTAREA") swap();
});

function fail(error) {
  status.textContent = `Could not load the image: ${error.message}`;
  status.classList.add("error");
  root.dataset.ready = "error";
}

start().catch(fail);
