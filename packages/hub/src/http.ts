/**
 * The `fetch` the hub client uses (token only to the hub's own origin, redirects followed by hand) and the
 * translation of failed hub calls into one-line errors that say what to do.
 */
import { HubApiError } from '@huggingface/hub';
import { DeptError } from '@dept/core';
import { repoLabel } from './settings.ts';
import type { HubRepo, HubSettings } from './types.ts';

/** Thrown by the fetch wrapper when the hub cannot be reached at all (no HTTP answer). */
export class HubUnreachable extends Error {}

/**
 * A `fetch` for the hub: sends the token only to the hub's own origin, follows redirects itself (so the token
 * never reaches a CDN), records the hub's `X-Error-Code` of failed answers, and turns "no answer at all" into
 * {@link HubUnreachable}.
 */
export function hubFetch(settings: HubSettings, base: typeof fetch | undefined, errorCodes: Map<string, string>): typeof fetch {
  const origin = new URL(settings.endpoint).origin;
  const wrapped = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (settings.offline) throw new DeptError(`HF_HUB_OFFLINE is set: refusing to contact ${settings.endpoint}`);
    const doFetch = base ?? globalThis.fetch;
    let url = new URL(input instanceof Request ? input.url : String(input));
    let method = init?.method ?? 'GET';
    let body = init?.body;
    for (let hop = 0; hop < 10; hop++) {
      const headers = new Headers(init?.headers);
      if (url.origin === origin && settings.token) headers.set('Authorization', `Bearer ${settings.token}`);
      else headers.delete('Authorization');
      if (!headers.has('User-Agent')) headers.set('User-Agent', 'dept-ts (@huggingface/hub)');
      let res: Response;
      try {
        res = await doFetch(url, { ...init, method, body, headers, redirect: 'manual' });
      } catch (error) {
        const cause = (error as { cause?: { code?: string; message?: string } }).cause;
        throw new HubUnreachable(`cannot reach ${url.origin} (${cause?.code ?? cause?.message ?? (error as Error).message})`, { cause: error });
      }
      const location = res.headers.get('location');
      if (res.status >= 300 && res.status < 400 && location) {
        await res.body?.cancel();
        url = new URL(location, url);
        if (res.status === 303 || ((res.status === 301 || res.status === 302) && method === 'POST')) {
          method = 'GET';
          body = undefined;
        }
        continue;
      }
      if (!res.ok) {
        const code = res.headers.get('x-error-code');
        if (code) errorCodes.set(res.url || url.href, code);
      }
      // A Response whose .url is the final URL (fetch with redirect: 'manual' already gives that).
      return res;
    }
    throw new HubUnreachable(`too many redirects from ${settings.endpoint}`);
  };
  return wrapped as typeof fetch;
}

/** Turns a failed hub call into one line that says what was wrong and what to do. */
export function hubError(error: unknown, repo: HubRepo, revision: string, settings: HubSettings, errorCodes: Map<string, string>, path?: string): Error {
  if (error instanceof DeptError) return error;
  if (error instanceof HubUnreachable) return new DeptError(`${repoLabel(repo)}: ${error.message}; check the network or HF_ENDPOINT, or set HF_HUB_OFFLINE=1 to use the cache`, { cause: error });
  if (error instanceof HubApiError) {
    const code = errorCodes.get(error.url) ?? '';
    const where = `${repoLabel(repo)}${path ? ` ${path}` : ''} (revision ${revision}) at ${settings.endpoint}`;
    const tokenNote = settings.token ? 'the token in HF_TOKEN has no access to it' : 'no HF_TOKEN is set';
    if (code === 'GatedRepo' || (error.statusCode === 403 && /gated|access to model|restricted/i.test(error.message))) {
      return new DeptError(`${where}: the repository is gated and ${tokenNote}; accept its terms on ${settings.endpoint}/${repoLabel(repo)} and set HF_TOKEN to a token of that account`, { cause: error });
    }
    if (code === 'RevisionNotFound') return new DeptError(`${where}: no such revision (expected a branch, a tag or a commit id of the repository)`, { cause: error });
    if (code === 'EntryNotFound') return new DeptError(`${where}: no such file in the repository`, { cause: error });
    if (code === 'RepoNotFound' || error.statusCode === 404 || error.statusCode === 401) {
      return new DeptError(`${where}: repository not found, or private and ${tokenNote} (HTTP ${error.statusCode}); check the name, or set HF_TOKEN`, { cause: error });
    }
    if (error.statusCode === 403) return new DeptError(`${where}: access denied (HTTP 403) and ${tokenNote}; set HF_TOKEN to a token with read access`, { cause: error });
    if (error.statusCode === 429) return new DeptError(`${where}: the hub is rate-limiting requests (HTTP 429); wait and run again, or set HF_TOKEN`, { cause: error });
    return new DeptError(`${where}: the hub answered HTTP ${error.statusCode} (${error.message.split('\n')[0]}); run again later`, { cause: error });
  }
  return error instanceof Error ? error : new Error(String(error));
}
