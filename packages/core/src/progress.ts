/**
 * Progress of a long loop, as one event shape for every display: evaluation batches, prediction, or any other
 * counted work. A loop calls its `onProgress` after each unit of work; the command line turns the events into a
 * bar with an ETA on a terminal, or a few plain lines elsewhere.
 */

/**
 * `done` of `total` units of `phase` finished so far (`done` grows from 0 to `total`).
 *
 * @example
 * const event: ProgressEvent = { phase: 'test', done: 64, total: 277, unit: 'examples' };
 */
export interface ProgressEvent {
  /** What is being counted, e.g. `dev`, `test`, `predict`. */
  phase: string;
  done: number;
  total: number;
  /** The unit counted (default `examples`). */
  unit?: string;
}
