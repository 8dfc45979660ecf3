// The explorer's client-side numbers against astropy's, for the same inputs.
// tests/test_explorer_js.py computes astropy's values, writes them to the JSON file named by
// ACSQ_JS_EXPECTED and runs this file with node's test runner.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { dqNames, formatFloat32, pixelToSky } from "../../webapp/static/explorer/readout.js";
import {
  limits, minmaxInterval, normalize, percentileInterval, zscaleInterval,
} from "../../webapp/static/explorer/stretch.js";

const path = process.env.ACSQ_JS_EXPECTED;
if (!path) throw new Error("ACSQ_JS_EXPECTED is not set: run pytest tests/test_explorer_js.py");
const expected = JSON.parse(readFileSync(path, "utf8"));

function close(actual, wanted, rtol, label) {
  const tolerance = rtol * Math.max(1, Math.abs(wanted));
  assert.ok(Math.abs(actual - wanted) <= tolerance,
    `${label}: got ${actual}, astropy ${wanted} (tolerance ${tolerance})`);
}

const asValues = (list) => Float32Array.from(list.map((v) => (v === null ? NaN : v)));

test("intervals match astropy's MinMax, Percentile and ZScale", () => {
  assert.ok(expected.intervals.length >= 5);
  for (const c of expected.intervals) {
    const values = asValues(c.values);
    const [lo, hi] = minmaxInterval(values);
    close(lo, c.minmax[0], 0, `${c.name} minmax low`);
    close(hi, c.minmax[1], 0, `${c.name} minmax high`);
    for (const [kept, wanted] of Object.entries(c.percentile)) {
      const got = percentileInterval(values, Number(kept));
      close(got[0], wanted[0], 1e-6, `${c.name} percentile ${kept} low`);
      close(got[1], wanted[1], 1e-6, `${c.name} percentile ${kept} high`);
    }
    const z = zscaleInterval(values);
    close(z[0], c.zscale[0], 1e-5, `${c.name} zscale low`);
    close(z[1], c.zscale[1], 1e-5, `${c.name} zscale high`);
    const q = limits(values, c.quicklook.interval, 98);
    close(q[0], c.quicklook.limits[0], 1e-6, `${c.name} quicklook low`);
    close(q[1], c.quicklook.limits[1], 1e-6, `${c.name} quicklook high`);
  }
});

test("stretches match astropy's Linear, Sqrt, Log and Asinh", () => {
  const { vmin, vmax, values } = expected.stretches;
  for (const [name, wanted] of Object.entries(expected.stretches.results)) {
    values.forEach((v, i) => close(normalize(v, vmin, vmax, name), wanted[i], 1e-7,
      `${name}(${v})`));
  }
});

test("float32 values print as numpy prints them", () => {
  for (const [value, text] of expected.float32) {
    // The same shortest decimal: the same number, whatever the notation (1e-8, 1e-08).
    assert.equal(Number(formatFloat32(value)), Number(text), `${value}: numpy ${text}`);
  }
});

test("RA/Dec within 0.05 arcsec of astropy's all_pix2world", () => {
  for (const c of expected.sky) {
    for (const [x, y, ra, dec] of c.points) {
      const [r, d] = pixelToSky(c.wcs, x, y);
      const dra = (r - ra) * Math.cos((dec * Math.PI) / 180) * 3600;
      const ddec = (d - dec) * 3600;
      assert.ok(Math.hypot(dra, ddec) < 0.05, `${c.name} (${x}, ${y}): off by ` +
        `${Math.hypot(dra, ddec)} arcsec`);
    }
  }
});

test("DQ bits by name", () => {
  for (const [value, names] of expected.dq.cases) {
    assert.deepEqual(dqNames(value, expected.dq.table), names);
  }
});
