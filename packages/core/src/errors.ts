/**
 * The one error type of the project. A `DeptError` is a user-facing problem (bad file, bad field, bad
 * flag): the command line prints its message on one line and exits with status 2. Anything else is a bug.
 *
 * @example
 * throw new DeptError(`${file}: tensor "shared.weight" has shape [10, 4], expected [128, 32]`);
 */
export class DeptError extends Error {
  override readonly name = 'DeptError';
  /** Process exit status the command line uses for this error. */
  readonly exitCode: number;
  constructor(message: string, options?: { cause?: unknown; exitCode?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.exitCode = options?.exitCode ?? 2;
  }
}

/** True for errors meant for the user (bad input), false for bugs. */
export function isDeptError(error: unknown): error is DeptError {
  return error instanceof Error && error.name === 'DeptError';
}
