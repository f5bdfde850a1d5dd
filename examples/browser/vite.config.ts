/**
 * Vite build of the DePT page. The page bundles the packages' own sources (packages/<name>/src, through the npm
 * workspace links). Their Node-only modules (files, worker threads, Dawn) are imported by the package indexes but
 * never called on the page's path, so Node's built-in modules and the Node-only packages (webgpu,
 * @tensorflow/tfjs-node and -gpu) resolve to stubs whose functions throw "… is not available in a browser" if
 * anything ever calls one. hyparquet (read by @dept/tasks, which @dept/train imports) is bundled from its Node
 * entry, whose extra names (asyncBufferFromFile) its browser entry lacks; they too are never called here.
 */
import { builtinModules, createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultClientConditions, defineConfig, type Plugin } from 'vite';

const NODE_ONLY = new Set(['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', ...builtinModules, ...builtinModules.map((m) => `node:${m}`)]);
const PREFIX = '\0dept-node-stub:';

/** Names a Node built-in module exports, so the stub can export each of them. */
async function exportNames(id: string): Promise<string[]> {
  if (id === 'webgpu') return ['create', 'globals'];
  try {
    const mod = (await import(id.startsWith('node:') ? id : `node:${id}`)) as Record<string, unknown>;
    return Object.keys(mod).filter((k) => k !== 'default' && /^[A-Za-z_$][\w$]*$/.test(k));
  } catch {
    return [];
  }
}

function nodeStubs(): Plugin {
  return {
    name: 'dept-node-stubs',
    enforce: 'pre',
    resolveId(id) {
      return NODE_ONLY.has(id) ? `${PREFIX}${id}` : null;
    },
    async load(id) {
      if (!id.startsWith(PREFIX)) return null;
      const name = id.slice(PREFIX.length);
      const names = await exportNames(name);
      const fail = `function unavailable$(what) { const f = () => { throw new Error(\`\${what} is not available in a browser\`); }; return new Proxy(f, { get: (_t, k) => k === 'then' || typeof k === 'symbol' ? undefined : unavailable$(\`\${what}.\${String(k)}\`) }); }`;
      return [
        `const unavailable$ = ${fail};`,
        `export default unavailable$(${JSON.stringify(name)});`,
        ...names.map((n, i) => `const v$${i} = unavailable$(${JSON.stringify(`${name}.${n}`)});\nexport { v$${i} as ${n} };`),
      ].join('\n');
    },
  };
}

export default defineConfig({
  root: dirname(fileURLToPath(import.meta.url)),
  base: './',
  plugins: [nodeStubs()],
  resolve: {
    // The packages' sources, as everywhere in the repository (their `dept-source` export condition), never a stale dist/.
    conditions: ['dept-source', ...defaultClientConditions],
    alias: [{ find: /^hyparquet$/, replacement: createRequire(import.meta.url).resolve('hyparquet') }],
  },
  build: {
    outDir: 'dist', emptyOutDir: true, target: 'es2022', chunkSizeWarningLimit: 8000, reportCompressedSize: false,
    rollupOptions: {
      // trainPrompt imports @dept/prompt lazily for Node's start-up time; in one bundle that changes nothing.
      onLog(level, log, handler) {
        if (log.code !== 'INEFFECTIVE_DYNAMIC_IMPORT') handler(level, log);
      },
    },
  },
  logLevel: 'warn',
});
