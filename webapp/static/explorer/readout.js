// What the explorer's readout shows: a float32 value as numpy prints it, the sky
// position of a pixel from a TAN-SIP WCS, and the names of a DQ value's bits.

/**
 * The shortest decimal that reads back as the same float32 (numpy's repr of a float32),
 * e.g. 0.1 rather than 0.10000000149011612.
 */
export function formatFloat32(value) {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value) && Math.abs(value) < 1e16) return String(value);
  const f = Math.fround(value);
  for (let digits = 1; digits <= 9; digits++) {
    const text = f.toPrecision(digits);
    if (Math.fround(Number(text)) === f) return String(Number(text));
  }
  return String(f);
}

function sip(terms, u, v) {
  let sum = 0;
  for (const [p, q, c] of terms) sum += c * u ** p * v ** q;
  return sum;
}

const DEG = Math.PI / 180;

/**
 * RA and Dec in degrees of the FITS pixel (x, y) (1-based), from a TAN(-SIP) WCS given as
 * {crpix, crval, cd, a, b} (see acsq_mongo.images.client_wcs): SIP, the CD matrix, then
 * the gnomonic projection about crval (LONPOLE 180).
 */
export function pixelToSky(wcs, x, y) {
  const u = x - wcs.crpix[0];
  const v = y - wcs.crpix[1];
  const du = u + sip(wcs.a, u, v);
  const dv = v + sip(wcs.b, u, v);
  const xi = (wcs.cd[0][0] * du + wcs.cd[0][1] * dv) * DEG;
  const eta = (wcs.cd[1][0] * du + wcs.cd[1][1] * dv) * DEG;
  const ra0 = wcs.crval[0] * DEG;
  const dec0 = wcs.crval[1] * DEG;
  const denominator = Math.cos(dec0) - eta * Math.sin(dec0);
  let ra = (ra0 + Math.atan2(xi, denominator)) / DEG;
  const dec = Math.atan2(Math.sin(dec0) + eta * Math.cos(dec0), Math.hypot(xi, denominator)) / DEG;
  ra = ((ra % 360) + 360) % 360;
  return [ra, dec];
}

/** Sexagesimal text of RA (hours) and Dec (degrees). */
export function sexagesimal(ra, dec) {
  const part = (value, decimals) => {
    const sign = value < 0 ? "-" : "";
    let rest = Math.abs(value);
    const a = Math.floor(rest);
    rest = (rest - a) * 60;
    const b = Math.floor(rest);
    const c = ((rest - b) * 60).toFixed(decimals).padStart(3 + decimals, "0");
    return `${sign}${String(a).padStart(2, "0")}:${String(b).padStart(2, "0")}:${c}`;
  };
  return [part(ra / 15, 3), (dec >= 0 ? "+" : "") + part(dec, 2)];
}

/** The names of the bits set in a DQ value, from a table of [bit, name, meaning]. */
export function dqNames(value, table) {
  const bits = Math.trunc(value) & 0xffff;
  return table.filter(([bit]) => bits & bit).map(([, name]) => name);
}
