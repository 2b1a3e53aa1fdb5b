/**
 * Small pieces of Python/numpy behaviour that the reference scorers rely on and that change the last
 * bits (or, for splitting, the tokens) of a result: `str.split()` without arguments, numpy's pairwise
 * summation behind `np.mean`, and Python 3's `round(x, n)`.
 *
 * @module
 */

/** Characters Python 3's `str.split()` (no argument) treats as whitespace. */
// deno-lint-ignore no-control-regex -- Python counts U+001C..U+001F as whitespace
const PY_WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

const NOT_PLAIN = /[^\x21-\x7e ]/;

/** Python 3 `s.split()`: split on runs of Unicode whitespace, dropping empty pieces. */
export function pySplit(s: string): string[] {
  if (!NOT_PLAIN.test(s)) {
    // Printable ASCII and single spaces only: a plain split.
    const parts = s.split(" ");
    return parts.includes("") ? parts.filter((p) => p !== "") : parts;
  }
  const parts = s.split(PY_WHITESPACE);
  let lo = 0, hi = parts.length;
  if (hi > 0 && parts[0] === "") lo = 1;
  if (hi > lo && parts[hi - 1] === "") hi--;
  return lo === 0 && hi === parts.length ? parts : parts.slice(lo, hi);
}

/** Block size below which numpy's pairwise summation adds sequentially (`PW_BLOCKSIZE`). */
const PW_BLOCKSIZE = 128;

/** numpy's pairwise summation of `a[lo, lo+n)` (the algorithm behind `np.sum` / `np.mean` of float64). */
function pairwise(a: ArrayLike<number>, lo: number, n: number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += a[lo + i];
    return s;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = [a[lo], a[lo + 1], a[lo + 2], a[lo + 3], a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]];
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let k = 0; k < 8; k++) r[k] += a[lo + i + k];
    }
    let s = (r[0] + r[1] + (r[2] + r[3])) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) s += a[lo + i];
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(a, lo, n2) + pairwise(a, lo + n2, n - n2);
}

/** `np.sum` of a float64 vector (pairwise summation). */
export function npSum(a: ArrayLike<number>): number {
  return pairwise(a, 0, a.length);
}

/** `np.mean` of a float64 vector (pairwise sum, then one division); NaN for an empty vector. */
export function npMean(a: ArrayLike<number>): number {
  return npSum(a) / a.length;
}

/**
 * Python 3 `round(x, ndigits)`: the decimal with `ndigits` digits nearest to the exact binary value of
 * `x`, ties (only possible when `x` is exactly representable at the midpoint) to even.
 */
export function pyRound(x: number, ndigits: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  if (Math.abs(x) >= 1e21) return x;
  // toFixed(100) prints the exact binary value (every double below 1e21 has at most ~1074 fraction
  // digits, but those with magnitude >= 2^-52 relevant here have far fewer than 100).
  const exact = Math.abs(x).toFixed(100);
  const dot = exact.indexOf(".");
  const keep = exact.slice(0, dot + 1 + ndigits);
  const rest = exact.slice(dot + 1 + ndigits);
  let digits = keep.replace(".", "");
  const first = rest.charCodeAt(0) - 48;
  const tail = rest.slice(1).replace(/0+$/, "");
  const lastDigit = digits.charCodeAt(digits.length - 1) - 48;
  const roundUp = first > 5 || (first === 5 && (tail.length > 0 || lastDigit % 2 === 1));
  if (roundUp) digits = incrementDecimal(digits);
  const intLen = digits.length - ndigits;
  const text = ndigits > 0 ? digits.slice(0, intLen) + "." + digits.slice(intLen) : digits;
  const v = Number.parseFloat(text);
  return x < 0 ? -v : v;
}

/** Adds one to a string of decimal digits ("199" -> "200", "99" -> "100"). */
function incrementDecimal(digits: string): string {
  const d = digits.split("");
  let i = d.length - 1;
  while (i >= 0) {
    if (d[i] === "9") {
      d[i] = "0";
      i--;
    } else {
      d[i] = String.fromCharCode(d[i].charCodeAt(0) + 1);
      return d.join("");
    }
  }
  return "1" + d.join("");
}

/** Python 3 `s.strip()` (no argument): removes leading and trailing Unicode whitespace. */
export function pyStrip(s: string): string {
  return s.replace(PY_STRIP_START, "").replace(PY_STRIP_END, "");
}
const PY_STRIP_START = new RegExp("^" + PY_WHITESPACE.source);
const PY_STRIP_END = new RegExp(PY_WHITESPACE.source + "$");
