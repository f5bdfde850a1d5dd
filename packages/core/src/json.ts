/**
 * JSON with located errors. `parseJsonText` and `readJsonFile` turn a syntax error into one line naming the file,
 * line and column; `scanJson`, a small syntax scanner, finds that position (V8's messages do not always give one)
 * and the duplicate object keys that `JSON.parse` silently collapses (the last one wins). The scanner builds no
 * values; `JSON.parse` still does the parsing.
 */
import { readRegularFile } from './read.ts';
import { DeptError } from './errors.ts';
import { environmentError } from './fs-errors.ts';

/** Where a JSON text goes wrong. */
export interface JsonProblem {
  /** 0-based character offset. */
  position: number;
  /** 1-based line and column of `position`. */
  line: number;
  column: number;
  message: string;
}

/** A key that appears twice in one JSON object. */
export interface JsonDuplicate {
  key: string;
  /** Keys of the enclosing objects, outermost first (`[]` for the top level). */
  path: string[];
}

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(position, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

/** Options of {@link scanJson}. */
export interface ScanJsonOptions {
  /**
   * Called with the source text of every number (`1`, `1.0`, `-0`, `1e3`: what `JSON.parse` no longer tells
   * apart) and the keys of the objects around it, outermost first (array elements get their array's path).
   */
  onNumber?: (token: string, path: readonly string[]) => void;
}

class Scanner {
  pos = 0;
  duplicate: JsonDuplicate | null = null;
  constructor(
    private readonly text: string,
    private readonly opts: ScanJsonOptions = {},
  ) {}

  fail(message: string, at = this.pos): never {
    throw Object.assign(new Error(message), { position: at });
  }

  ws(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) this.pos++;
      else break;
    }
  }

  value(path: string[], depth: number): void {
    if (depth > 512) this.fail('nesting deeper than 512 levels');
    this.ws();
    const t = this.text;
    if (this.pos >= t.length) this.fail('unexpected end of input');
    const c = t[this.pos];
    if (c === '{') this.object(path, depth);
    else if (c === '[') this.array(path, depth);
    else if (c === '"') this.string();
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) this.number(path);
    else if (t.startsWith('true', this.pos)) this.pos += 4;
    else if (t.startsWith('false', this.pos)) this.pos += 5;
    else if (t.startsWith('null', this.pos)) this.pos += 4;
    else this.fail('expected a value (an object, array, string, number, true, false or null)');
  }

  object(path: string[], depth: number): void {
    this.pos++; // {
    const keys = new Set<string>();
    this.ws();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return;
    }
    for (;;) {
      this.ws();
      if (this.text[this.pos] !== '"') this.fail('expected a double-quoted property name');
      const key = this.string();
      if (keys.has(key)) {
        if (this.duplicate === null) this.duplicate = { key, path: [...path] };
      } else keys.add(key);
      this.ws();
      if (this.text[this.pos] !== ':') this.fail("expected ':' after a property name");
      this.pos++;
      this.value([...path, key], depth + 1);
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        return;
      }
      this.fail(c === undefined ? 'unexpected end of input' : "expected ',' or '}' after a property value");
    }
  }

  array(path: string[], depth: number): void {
    this.pos++; // [
    this.ws();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return;
    }
    for (;;) {
      this.value(path, depth + 1);
      this.ws();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        return;
      }
      this.fail(c === undefined ? 'unexpected end of input' : "expected ',' or ']' after an array element");
    }
  }

  string(): string {
    const t = this.text;
    const start = this.pos;
    this.pos++; // opening quote
    let simple = true;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x22) {
        this.pos++;
        const raw = t.slice(start, this.pos);
        return simple ? raw.slice(1, -1) : (JSON.parse(raw) as string);
      }
      if (c === 0x5c) {
        simple = false;
        const e = t[this.pos + 1];
        if (e === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(t.slice(this.pos + 2, this.pos + 6))) this.fail('bad \\u escape in a string');
          this.pos += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) this.pos += 2;
        else this.fail('bad escape in a string');
        continue;
      }
      if (c < 0x20) this.fail('control character in a string');
      this.pos++;
    }
    return this.fail('unterminated string', start);
  }

  number(path: string[]): void {
    const m = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/.exec(this.text.slice(this.pos, this.pos + 400));
    if (!m) this.fail('bad number');
    this.pos += m[0].length;
    this.opts.onNumber?.(m[0], path);
  }
}

/**
 * Scans `text` as JSON. Returns the first syntax problem (or `null` when the text is valid JSON) and the first
 * duplicate key met.
 *
 * @example
 * scanJson('{"a": 1, "a": 2}').duplicate; // { key: 'a', path: [] }
 * scanJson('{\n "a": }').problem?.line;    // 2
 * scanJson('{"x": {"shape": [1.0]}}', { onNumber: (t, p) => console.log(t, p) }); // 1.0 ['x', 'shape']
 */
export function scanJson(text: string, opts: ScanJsonOptions = {}): { problem: JsonProblem | null; duplicate: JsonDuplicate | null } {
  const s = new Scanner(text, opts);
  try {
    s.value([], 0);
    s.ws();
    if (s.pos < text.length) s.fail('unexpected text after the JSON value');
    return { problem: null, duplicate: s.duplicate };
  } catch (error) {
    const position = (error as { position?: number }).position ?? s.pos;
    const { line, column } = lineColumn(text, position);
    return { problem: { position, line, column, message: (error as Error).message }, duplicate: s.duplicate };
  }
}

/**
 * Parses JSON text, turning a syntax error into a one-line `DeptError`
 * `<where>: not valid JSON (line L column C): <what was expected>`. The message never quotes the text.
 *
 * @example
 * parseJsonText('{"a": 1}', 'inline'); // { a: 1 }
 */
export function parseJsonText<T = unknown>(text: string, where: string): T {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  try {
    return JSON.parse(body) as T;
  } catch (error) {
    const { problem } = scanJson(body);
    // The scanner's messages say what was expected; V8's would quote the text, and nothing of the file is echoed.
    if (problem) throw new DeptError(`${where}: not valid JSON (line ${problem.line} column ${problem.column}): ${problem.message}`, { cause: error });
    throw new DeptError(`${where}: not valid JSON`, { cause: error });
  }
}

/**
 * Reads and parses a JSON file. Errors are `DeptError`s: `<path>: file not found` (with `what` when given,
 * e.g. "the adapter config") or `<path>: not valid JSON (line L column C): ...`. The caller validates the shape.
 *
 * @example
 * const config = readJsonFile<{ r: number }>('bank/adapter_config.json', 'the adapter config');
 */
export function readJsonFile<T = unknown>(path: string, what?: string): T {
  let text: string;
  try {
    text = readRegularFile(path, `a JSON file${what ? ` (${what})` : ''}`).toString('utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DeptError(`${path}: file not found${what ? ` (expected ${what})` : ''}`, { cause: error });
    if (code === 'EISDIR') throw new DeptError(`${path}: is a folder, expected a JSON file${what ? ` (${what})` : ''}`, { cause: error });
    throw environmentError(error, path, 'read') ?? error;
  }
  return parseJsonText<T>(text, path);
}

/**
 * The dotted path of the first place where two JSON values differ (object keys of either side in order, array
 * items by index), or null when they are equal. Used to name the setting a resumed run changed.
 *
 * @example
 * firstDifference({ train: { lr: 0.3, r: 30 } }, { train: { lr: 0.4, r: 30 } }); // 'train.lr'
 * firstDifference({ k: [4, 16] }, { k: [4, 32] });                                // 'k.1'
 */
export function firstDifference(a: unknown, b: unknown, path = ''): string | null {
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return JSON.stringify(a) === JSON.stringify(b) ? null : path || '(root)';
  }
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    const d = firstDifference((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key], path ? `${path}.${key}` : key);
    if (d) return d;
  }
  return null;
}
