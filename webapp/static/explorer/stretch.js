// Display limits and stretches of the image explorer, on the client.
//
// Each function gives what astropy.visualization gives for the same input
// (astropy 8): MinMaxInterval, PercentileInterval (numpy's linear
// percentile), ZScaleInterval (IRAF's zscale, astropy's defaults), and
// LinearStretch, SqrtStretch, LogStretch (a = 1000) and AsinhStretch
// (a = 0.1) on values already mapped onto [0, 1] and clipped.
// tests/js/stretch.test.js checks them against astropy's own values, which
// tests/test_explorer_js.py computes for the same inputs.

/** The finite values of an array, as a Float64Array. */
export function finite(values) {
  const out = [];
  for (const v of values) {
    if (Number.isFinite(v)) out.push(v);
  }
  return Float64Array.from(out);
}

/** [min, max] of the finite values (MinMaxInterval); [0, 0] if there is none. */
export function minmaxInterval(values) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** numpy.percentile(sorted, q) with the default "linear" method; `sorted` ascending. */
export function percentileOfSorted(sorted, q) {
  const n = sorted.length;
  if (n === 0) return 0;
  const index = (q / 100) * (n - 1);
  const below = Math.floor(index);
  const above = Math.min(below + 1, n - 1);
  const t = index - below;
  const a = sorted[below];
  const b = sorted[above];
  const diff = b - a;
  // numpy's lerp: from the nearer end, so the result stays within [a, b].
  return t >= 0.5 ? b - diff * (1 - t) : a + diff * t;
}

/** PercentileInterval(kept): the limits keeping `kept` percent of the finite values. */
export function percentileInterval(values, kept) {
  const sorted = finite(values).sort();
  const lower = (100 - kept) / 2;
  return [percentileOfSorted(sorted, lower), percentileOfSorted(sorted, 100 - lower)];
}

/** Least-squares line through (i, y[i]) for the i where good[i]: [slope, intercept]. */
function lineFit(y, good) {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < y.length; i++) {
    if (good[i]) { n++; sx += i; sy += y[i]; }
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < y.length; i++) {
    if (good[i]) { sxy += (i - mx) * (y[i] - my); sxx += (i - mx) * (i - mx); }
  }
  const slope = sxx > 0 ? sxy / sxx : 0;
  return [slope, my - slope * mx];
}

/** ZScaleInterval with astropy's defaults (1000 samples, contrast 0.25, krej 2.5, 5 iterations). */
export function zscaleInterval(values, options = {}) {
  const nSamples = options.nSamples ?? 1000;
  const contrast = options.contrast ?? 0.25;
  const maxReject = options.maxReject ?? 0.5;
  const minNpixels = options.minNpixels ?? 5;
  const krej = options.krej ?? 2.5;
  const maxIterations = options.maxIterations ?? 5;
  const all = finite(values);
  if (all.length === 0) return [0, 0];
  const stride = Math.trunc(Math.max(1, all.length / nSamples));
  const picked = [];
  for (let i = 0; i < all.length && picked.length < nSamples; i += stride) picked.push(all[i]);
  const samples = Float64Array.from(picked).sort();
  const npix = samples.length;
  let vmin = samples[0];
  let vmax = samples[npix - 1];
  const minpix = Math.max(minNpixels, Math.trunc(npix * maxReject));
  let ngoodpix = npix;
  let lastNgoodpix = npix + 1;
  let bad = new Uint8Array(npix);
  const ngrow = Math.max(1, Math.trunc(npix * 0.01));
  const offset = Math.trunc((ngrow - 1) / 2);
  let fit = null;
  for (let iteration = 0; iteration < maxIterations; iteration++) {
    if (ngoodpix >= lastNgoodpix || ngoodpix < minpix) break;
    const good = bad.map((b) => (b ? 0 : 1));
    fit = lineFit(samples, good);
    const flat = samples.map((v, i) => v - (fit[0] * i + fit[1]));
    let mean = 0;
    let count = 0;
    for (let i = 0; i < npix; i++) if (good[i]) { mean += flat[i]; count++; }
    mean /= count;
    let variance = 0;
    for (let i = 0; i < npix; i++) if (good[i]) variance += (flat[i] - mean) ** 2;
    const threshold = krej * Math.sqrt(variance / count);
    for (let i = 0; i < npix; i++) {
      if (flat[i] < -threshold || flat[i] > threshold) bad[i] = 1;
    }
    // numpy.convolve(bad, ones(ngrow), mode="same") on booleans: grow each bad run.
    const grown = new Uint8Array(npix);
    for (let i = 0; i < npix; i++) {
      for (let j = 0; j < ngrow; j++) {
        const k = i + offset - j;
        if (k >= 0 && k < npix && bad[k]) { grown[i] = 1; break; }
      }
    }
    bad = grown;
    lastNgoodpix = ngoodpix;
    ngoodpix = npix - bad.reduce((s, b) => s + b, 0);
  }
  if (ngoodpix >= minpix && fit !== null) {
    let slope = fit[0];
    if (contrast > 0) slope /= contrast;
    const centre = Math.trunc((npix - 1) / 2);
    const median = percentileOfSorted(samples, 50);
    vmin = Math.max(vmin, median - (centre - 1) * slope);
    vmax = Math.min(vmax, median + (npix - centre) * slope);
  }
  return [vmin, vmax];
}

/** The limits of an interval by name: "minmax", "percentile" (with `kept`), "zscale". */
export function limits(values, interval, kept = 98) {
  let result;
  if (interval === "zscale") result = zscaleInterval(values);
  else if (interval === "percentile") result = percentileInterval(values, kept);
  else result = minmaxInterval(values);
  // As the quicklook: limits that coincide (a mostly constant image) fall back to min/max.
  if (!(result[1] > result[0])) result = minmaxInterval(values);
  return result;
}

const LOG_A = 1000;
const ASINH_A = 0.1;
const LOG_NORM = Math.log(LOG_A + 1);
const ASINH_NORM = Math.asinh(1 / ASINH_A);

/** The stretches, each from [0, 1] onto [0, 1], as astropy's with their default parameters. */
export const STRETCHES = {
  linear: (x) => x,
  sqrt: (x) => Math.sqrt(x),
  log: (x) => Math.log(LOG_A * x + 1) / LOG_NORM,
  asinh: (x) => Math.asinh(x / ASINH_A) / ASINH_NORM,
};

/** ManualInterval(vmin, vmax) with clipping, then the stretch: a value onto [0, 1] (NaN stays NaN). */
export function normalize(value, vmin, vmax, stretch = "linear") {
  if (!Number.isFinite(value)) return NaN;
  const span = vmax - vmin;
  let x = span > 0 ? (value - vmin) / span : 0;
  if (x < 0) x = 0;
  else if (x > 1) x = 1;
  return STRETCHES[stretch](x);
}

/**
 * Paint float pixels into RGBA with a colour table of 256 entries (Uint8Array of 768).
 * NaN pixels are transparent. The level of a value is floor(stretched * 255.999), as the
 * quicklook's JPEG; `invert` reverses the table.
 */
export function paint(pixels, rgba, vmin, vmax, stretch, table, invert = false) {
  const f = STRETCHES[stretch];
  const span = vmax - vmin;
  const scale = span > 0 ? 1 / span : 0;
  for (let i = 0, o = 0; i < pixels.length; i++, o += 4) {
    const v = pixels[i];
    if (v !== v) { rgba[o + 3] = 0; continue; } // NaN: outside the picture
    let x = (v - vmin) * scale;
    if (x < 0) x = 0;
    else if (x > 1) x = 1;
    let level = Math.trunc(f(x) * 255.999);
    if (invert) level = 255 - level;
    const t = level * 3;
    rgba[o] = table[t];
    rgba[o + 1] = table[t + 1];
    rgba[o + 2] = table[t + 2];
    rgba[o + 3] = 255;
  }
}
