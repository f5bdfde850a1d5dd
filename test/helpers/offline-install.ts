/**
 * A lockfile for a fresh project that depends on the packed `dept-ts` tarball, taken from this repository's own
 * package-lock.json, so `npm ci --offline` installs it from the tarballs the repository's `npm ci` put in npm's
 * cache. (A plain `npm install <tarball> --offline` also needs the registry's package documents to resolve version
 * ranges, which `npm ci` never fetches.) The third-party part is what the tarball's package.json declares and
 * nothing more: the packages it names and, transitively, theirs, found as Node finds them in the repository's tree,
 * whose hoisted layout the new project keeps. A dependency the library imports but does not declare is therefore
 * absent there, and the import fails.
 */

/** The parts of a package-lock.json v3 entry used here. */
interface LockEntry {
  version?: string;
  link?: boolean;
  dev?: boolean;
  devOptional?: boolean;
  peer?: boolean;
  dependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** The parts of the tarball's package.json used here. */
export interface PackedManifest {
  name: string;
  version: string;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  bundleDependencies?: string[];
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** The lock path Node would load `name` from when required by the package at `from` ('' is the project). */
function nodeResolve(lock: Record<string, LockEntry>, from: string, name: string): string | null {
  let base = from;
  for (;;) {
    const key = `${base ? `${base}/` : ''}node_modules/${name}`;
    const entry = lock[key];
    if (entry && !entry.link) return key;
    if (!base) return null;
    const cut = base.lastIndexOf('/node_modules/');
    base = cut < 0 ? '' : base.slice(0, cut);
  }
}

/**
 * The package-lock.json of a project named `project` whose one dependency is `file:<tarball>`.
 *
 * @example
 * writeFileSync('p/package-lock.json', JSON.stringify(offlineLockfile(repoLock, manifest, 'dept-ts-0.1.0.tgz', 'p')));
 */
export function offlineLockfile(repoLock: { packages: Record<string, LockEntry> }, manifest: PackedManifest, tarball: string, project: string): object {
  const lock = repoLock.packages;
  const bundled = new Set(manifest.bundleDependencies ?? []);
  const picked = new Map<string, LockEntry>();
  const visit = (key: string, entry: LockEntry): void => {
    if (picked.has(key)) return;
    picked.set(key, entry);
    const optional = entry.optionalDependencies ?? {};
    for (const name of Object.keys({ ...entry.dependencies, ...optional })) {
      const found = nodeResolve(lock, key, name);
      if (found) visit(found, lock[found] as LockEntry);
      else if (!(name in optional)) throw new Error(`${key} depends on ${name}, which the repository's lockfile does not hold`);
    }
  };
  for (const name of Object.keys(manifest.dependencies ?? {})) {
    if (bundled.has(name)) continue;
    const found = nodeResolve(lock, '', name);
    if (!found) throw new Error(`${manifest.name} depends on ${name}, which the repository's lockfile does not hold`);
    visit(found, lock[found] as LockEntry);
  }
  const packages: Record<string, object> = {
    '': { name: project, dependencies: { [manifest.name]: `file:${tarball}` } },
    [`node_modules/${manifest.name}`]: {
      version: manifest.version,
      resolved: `file:${tarball}`,
      ...(manifest.bin ? { bin: manifest.bin } : {}),
      bundleDependencies: manifest.bundleDependencies,
      dependencies: manifest.dependencies,
      peerDependencies: manifest.peerDependencies,
      peerDependenciesMeta: manifest.peerDependenciesMeta,
    },
  };
  for (const [key, entry] of [...picked].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const kept: LockEntry = { ...entry };
    delete kept.dev; // the repository's dev and peer flags mean nothing in the new project
    delete kept.devOptional;
    delete kept.peer;
    packages[key] = kept;
  }
  return { name: project, lockfileVersion: 3, requires: true, packages };
}
