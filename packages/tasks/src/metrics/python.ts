/**
 * Small pieces of Python semantics the DePT ports depend on: `float(str)`, `repr(float)`,
 * `str.split()` whitespace and numpy's round-half-to-even `rint`.
 */

/** Python `str.split()` / `str.strip()` whitespace (differs from JS `\s`: has \x1c-\x1f, lacks \ufeff). */
export const PY_WHITESPACE = '\\t\\n\\v\\f\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';

const PY_WS_RUN = new RegExp(`[${PY_WHITESPACE}]+`, 'u');
const PY_STRIP = new RegExp(`^[${PY_WHITESPACE}]+|[${PY_WHITESPACE}]+$`, 'gu');

/**
 * Python `s.split()` (no argument): split on runs of whitespace, dropping empty pieces.
 *
 * @example
 * pySplit('  a  b\tc '); // ['a', 'b', 'c']
 */
export function pySplit(s: string): string[] {
  return s.split(PY_WS_RUN).filter((t) => t.length > 0);
}

/**
 * Python `s.strip()` (no argument).
 *
 * @example
 * pyStrip(' 3.8\n'); // '3.8'
 */
export function pyStrip(s: string): string {
  return s.replace(PY_STRIP, '');
}

const DIGITS = '\\d(?:_?\\d)*';
const PY_FLOAT = new RegExp(`^[+-]?(?:(?:${DIGITS})(?:\\.(?:${DIGITS})?)?|\\.(?:${DIGITS}))(?:[eE][+-]?${DIGITS})?$`);
const PY_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

/**
 * Python `float(s)` for a string: returns `undefined` where Python raises `ValueError`.
 * Accepts surrounding whitespace, `_` between digits, `inf`/`infinity`/`nan` in any case.
 * (Non-ASCII decimal digits, which Python also accepts, are not supported.)
 *
 * @example
 * parsePythonFloat(' 3.8 '); // 3.8
 * parsePythonFloat(''); // undefined (JS Number('') would give 0)
 * parsePythonFloat('0x10'); // undefined
 */
export function parsePythonFloat(s: string): number | undefined {
  const t = pyStrip(s);
  const special = PY_SPECIAL.exec(t);
  if (special) {
    const neg = special[1] === '-';
    if ((special[2] as string).toLowerCase() === 'nan') return Number.NaN;
    return neg ? -Infinity : Infinity;
  }
  if (!PY_FLOAT.test(t)) return undefined;
  return Number(t.replace(/_/g, ''));
}

/**
 * DePT `string_to_float(s, default=-1.)`: `float(s)`, or the default when Python would raise.
 *
 * @example
 * stringToFloat('2.5'); // 2.5
 * stringToFloat('similar'); // -1
 */
export function stringToFloat(s: string, fallback = -1): number {
  const v = parsePythonFloat(s);
  return v === undefined ? fallback : v;
}

/**
 * numpy `rint`: round half to even (exact for every float64).
 *
 * @example
 * rintHalfEven(12.5); // 12
 * rintHalfEven(13.5); // 14
 * rintHalfEven(-2.5); // -2
 */
export function rintHalfEven(v: number): number {
  if (!Number.isFinite(v)) return v;
  const f = Math.floor(v);
  const d = v - f; // exact: f and v share the exponent range where fractions exist
  let r: number;
  if (d < 0.5) r = f;
  else if (d > 0.5) r = f + 1;
  else r = f % 2 === 0 ? f : f + 1;
  // keep the sign of zero as C rint does (e.g. rint(-0.3) = -0)
  return r === 0 && (v < 0 || Object.is(v, -0)) ? -0 : r;
}

/**
 * Python `repr(float)` (= `str(float)` = numpy 1.14+ `str(np.float64)`): shortest round-trip digits,
 * fixed notation for 1e-4 <= |x| < 1e16 with at least one decimal, exponent notation otherwise.
 *
 * @example
 * pythonFloatRepr(3); // '3.0'
 * pythonFloatRepr(2.5); // '2.5'
 * pythonFloatRepr(1e16); // '1e+16'
 * pythonFloatRepr(-0); // '-0.0'
 */
export function pythonFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (x === Infinity) return 'inf';
  if (x === -Infinity) return '-inf';
  if (x === 0) return Object.is(x, -0) ? '-0.0' : '0.0';
  const sign = x < 0 ? '-' : '';
  const [mant, expStr] = Math.abs(x).toExponential().split('e') as [string, string];
  const exp = Number(expStr);
  const digits = mant.replace('.', '');
  if (exp >= -4 && exp < 16) {
    let body: string;
    if (exp >= digits.length - 1) body = `${digits}${'0'.repeat(exp - digits.length + 1)}.0`;
    else if (exp >= 0) body = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    else body = `0.${'0'.repeat(-exp - 1)}${digits}`;
    return sign + body;
  }
  const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
  const e = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : `${Math.abs(exp)}`;
  return `${sign}${m}e${exp < 0 ? '-' : '+'}${e}`;
}
