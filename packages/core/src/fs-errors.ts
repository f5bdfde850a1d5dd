/**
 * Errors of the environment: Node's errno errors (a full disk, a read-only file system, a file where a folder
 * should be, ...) are the user's machine, not bugs in dept. `environmentError` turns one into a one-line
 * `DeptError` naming the path and the cause, so the command line exits with status 2 instead of "internal error".
 */
import { DeptError, isDeptError } from './errors.ts';

/** The cause of each errno code that means "your environment", in words. */
const CAUSES: Readonly<Record<string, string>> = {
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'the file system is read-only',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  EISDIR: 'is a folder, expected a file',
  ENOTDIR: 'a part of the path is not a folder',
  ENOTEMPTY: 'the folder is not empty',
  EMFILE: 'too many open files (raise the limit with ulimit -n)',
  ENFILE: 'too many open files in the system',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many levels of symbolic links',
  EIO: 'input/output error (a failing disk or network file system)',
  EFBIG: 'the file is too large for the file system',
  ENXIO: 'no such device',
  ENODEV: 'no such device',
};

/** Node's errno error fields. */
interface ErrnoLike {
  code?: unknown;
  path?: unknown;
  dest?: unknown;
  syscall?: unknown;
  cause?: unknown;
}

/** The first errno error in `error` or its `cause` chain whose code is an environment code. */
function findErrno(error: unknown): (ErrnoLike & { code: string }) | null {
  let e: unknown = error;
  for (let depth = 0; depth < 8 && e !== null && typeof e === 'object'; depth++) {
    const c = (e as ErrnoLike).code;
    if (typeof c === 'string' && c in CAUSES) return e as ErrnoLike & { code: string };
    e = (e as ErrnoLike).cause;
  }
  return null;
}

/**
 * The cause of an environment error in words with its code, e.g. `no space left on the device (ENOSPC)`, or null
 * when `error` (and its cause chain) is not one.
 *
 * @example
 * environmentCause(Object.assign(new Error('x'), { code: 'EROFS' })); // 'the file system is read-only (EROFS)'
 */
export function environmentCause(error: unknown): string | null {
  const found = findErrno(error);
  return found ? `${CAUSES[found.code]} (${found.code})` : null;
}

/**
 * A one-line `DeptError` for an environment error: `<path>: cannot <action>: <cause> (<CODE>)`. The path is
 * `path` when given (name what the user knows, not a temporary), else the one Node recorded. Null when `error`
 * is not an environment error (a bug: let it through).
 *
 * @example
 * try { writeFileSync(p, text); } catch (e) { throw environmentError(e, p, 'write') ?? e; }
 */
export function environmentError(error: unknown, path?: string, action?: string): DeptError | null {
  const found = findErrno(error);
  if (!found) return null;
  const where = path ?? (typeof found.path === 'string' ? found.path : null);
  const verb = action ?? (typeof found.syscall === 'string' ? found.syscall : null);
  const cause = `${CAUSES[found.code]} (${found.code})`;
  const text = `${where === null ? '' : `${where}: `}${verb ? `cannot ${verb}: ` : ''}${cause}`;
  return new DeptError(text, { cause: error });
}

/**
 * Runs `fn`, turning an environment error into {@link environmentError}'s one line about `path`.
 *
 * @example
 * const text = withEnvironmentErrors(path, 'read', () => readFileSync(path, 'utf8'));
 */
export function withEnvironmentErrors<T>(path: string, action: string, fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (isDeptError(error)) throw error;
    throw environmentError(error, path, action) ?? error;
  }
}
