/**
 * Builds the page and serves it with a model folder and a bank on 127.0.0.1:
 *
 *   node --import tsx examples/browser/serve.ts --model DIR [--bank DIR] [--port 5173]
 *
 * Without --bank a starting bank is written to a temporary folder (m 8, r 4, s 32, P from the words of DePT's
 * init text, A random, B zero). The page is then at http://127.0.0.1:PORT/ (add ?backend=webgpu|wasm|cpu).
 */
import { createReadStream, existsSync, mkdtempSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json' };

/**
 * A static file server on 127.0.0.1 (an ephemeral port unless given) for URL prefixes mapped to folders; the
 * longest matching prefix wins, `…/` serves `index.html`, nothing outside a folder is served.
 *
 * @example
 * const { url, server } = await serveFolders({ '/': 'examples/browser/dist', '/model/': 'models/tiny' });
 */
export function serveFolders(routes: Record<string, string>, port = 0): Promise<{ server: Server; url: string }> {
  const roots = Object.fromEntries(Object.entries(routes).map(([p, d]) => [p, resolve(d)]));
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const prefix = Object.keys(roots).filter((p) => path.startsWith(p)).sort((a, b) => b.length - a.length)[0];
    const root = prefix === undefined ? undefined : roots[prefix];
    const file = root === undefined ? '' : normalize(join(root, path.slice((prefix as string).length) || 'index.html'));
    if (!root || !file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    createReadStream(file).pipe(res);
  });
  return new Promise((done) => server.listen(port, '127.0.0.1', () => {
    done({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` });
  }));
}

/** Builds the page into `outDir` with Vite (the packages' sources bundled). */
export async function buildPage(outDir: string): Promise<void> {
  const { build } = await import('vite');
  await build({ configFile: join(dirname(fileURLToPath(import.meta.url)), 'vite.config.ts'), build: { outDir }, logLevel: 'error' });
}

async function main(argv: string[]): Promise<void> {
  const arg = (name: string) => { const i = argv.indexOf(name); return i >= 0 ? argv[i + 1] : undefined; };
  const model = arg('--model');
  if (!model) throw new Error('usage: serve.ts --model DIR [--bank DIR] [--port N]');
  let bank = arg('--bank');
  if (!bank) {
    const { Rng } = await import('@dept/core');
    const { initBackend } = await import('@dept/tensor');
    const { loadPretrainedT5 } = await import('@dept/t5');
    const { initPromptValues, makeBankConfig, writeBank } = await import('@dept/prompt');
    await initBackend({ announce: false });
    const t5 = loadPretrainedT5(model);
    const config = makeBankConfig({ num_virtual_tokens: 8, token_dim: t5.config.d_model, max_length: 32, r: 4 });
    const values = await initPromptValues({ shape: config, method: 'TEXT', rng: new Rng(42), model: t5.model, tokenizer: t5.tokenizer! });
    bank = join(mkdtempSync(join(tmpdir(), 'dept-page-bank-')), 'bank');
    writeBank(bank, { config, ...values });
    t5.model.dispose();
  }
  const dist = join(dirname(fileURLToPath(import.meta.url)), 'dist');
  await buildPage(dist);
  const { url } = await serveFolders({ '/': dist, '/model/': model, '/bank/': bank }, Number(arg('--port') ?? 5173));
  process.stdout.write(`DePT page: ${url}  (model ${model}, bank ${bank}; Ctrl-C stops)\n`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`serve: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(2);
  });
}
