/**
 * `dept model fetch`, `dept data fetch` and `dept bank fetch`: real models, data and banks from the Hugging Face hub.
 *
 * - `dept model fetch <repo> [--revision R] [--cache-dir D] [--json]`: downloads what the T5 loader reads into the
 *   hub cache (`huggingface_hub`'s layout) and prints the snapshot folder on stdout.
 * - `dept data fetch <dataset> [--config C] [--revision R] [--data-dir D] [--cache-dir D] [--json]`: downloads a
 *   dataset config's Parquet files and places them under the data directory; prints that folder on stdout. (`--out`
 *   is a deprecated spelling of `--data-dir`, the name every other command uses.)
 * - `dept bank fetch <repo>[@revision] [--cache-dir D] [--json]`: downloads a PEFT prompt-tuning adapter
 *   (`adapter_config.json` + `adapter_model.safetensors`) into the hub cache and prints the snapshot folder; the
 *   bank is then usable as `--bank <repo>[@revision]` wherever a bank is taken.
 *
 * Progress goes to stderr. The hub environment variables apply: HF_ENDPOINT, HF_TOKEN, HF_HUB_OFFLINE, HF_HOME,
 * HF_HUB_CACHE. The work itself lives in `@dept/t5` (`fetchT5Model`), `@dept/tasks` (`fetchHfDataset`) and
 * `@dept/transfer` (`fetchBank`).
 */
import { Option, type Command } from 'commander';
import { DeptError } from '@dept/core';
import type { HubEvent, HubOptions } from '@dept/hub';

const ENV_HELP = `
Environment (as huggingface_hub reads it):
  HF_ENDPOINT     the hub to download from (default https://huggingface.co; a mirror works too)
  HF_TOKEN        access token for gated or private repositories (else the file $HF_HOME/token)
  HF_HUB_OFFLINE  1: never use the network; serve from the cache or fail
  HF_HUB_CACHE    the cache folder (default: $HF_HOME/hub, else ~/.cache/huggingface/hub)`;

function formatBytes(n: number): string {
  if (n < 0) return '?';
  if (n < 1000) return `${n} B`;
  const units = ['kB', 'MB', 'GB', 'TB'];
  let v = n;
  let u = -1;
  do {
    v /= 1000;
    u++;
  } while (v >= 1000 && u < units.length - 1);
  return `${v.toFixed(1)} ${units[u]}`;
}

/** Lines on stderr for hub events: one per file, with a live percentage on a terminal. */
function progressPrinter(label: string): (event: HubEvent) => void {
  const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
  let last = 0;
  let open = false;
  const line = (text: string) => {
    if (open) process.stderr.write('\n');
    open = false;
    process.stderr.write(`${text}\n`);
  };
  return (event) => {
    switch (event.type) {
      case 'resolved':
        line(`${label}: revision ${event.revision} is commit ${event.commit}${event.fromCache ? ' (from the cache, no network)' : ''}`);
        break;
      case 'cached':
        line(`  ${event.path} (${formatBytes(event.size)}, cached)`);
        break;
      case 'download':
        line(`  ${event.path} (${formatBytes(event.size)}) ${event.resumeFrom > 0 ? `resuming at ${formatBytes(event.resumeFrom)}` : 'downloading'}`);
        break;
      case 'progress': {
        const now = Date.now();
        if (!tty || now - last < 200) break;
        last = now;
        process.stderr.write(`\r    ${((100 * event.bytes) / Math.max(1, event.size)).toFixed(0).padStart(3)}% ${formatBytes(event.bytes)} of ${formatBytes(event.size)}   `);
        open = true;
        break;
      }
      case 'downloaded':
        if (open) {
          process.stderr.write('\n');
          open = false;
        }
        break;
      case 'warning':
        line(`dept: warning: ${event.message}`);
        break;
    }
  };
}

interface FetchFlags {
  revision?: string;
  cacheDir?: string;
  json?: boolean;
}

function hubOptions(flags: FetchFlags, label: string): HubOptions {
  return { ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}), onEvent: progressPrinter(label) };
}

/** The `model` (or `data`) command group, made if no other file registered it. */
function group(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/**
 * Adds `fetch` to the `model`, `data` and `bank` command groups.
 *
 * @example
 * const program = new Command();
 * registerModel(program);
 * registerData(program);
 * registerFetch(program);
 * await program.parseAsync(['model', 'fetch', 'google/flan-t5-base'], { from: 'user' });
 */
export function registerFetch(program: Command): void {
  group(program, 'model', 'make or fetch T5 model folders')
    .command('fetch')
    .description('download a T5 model from the Hugging Face hub into the hub cache and print its folder (config.json, safetensors weights, tokenizer)')
    .argument('<repo>', 'hub model id: t5-base, google/flan-t5-base, google/t5-v1_1-base, …')
    .option('--revision <rev>', 'branch, tag, refs/pr/N or commit', 'main')
    .option('--cache-dir <dir>', 'the hub cache (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)')
    .option('--json', 'print a JSON summary instead of the folder (default: off)')
    .addHelpText('after', ENV_HELP)
    .action(async (repo: string, flags: FetchFlags) => {
      const { fetchT5Model } = await import('@dept/t5');
      const got = await fetchT5Model(repo, { ...hubOptions(flags, repo), revision: flags.revision ?? 'main' });
      process.stderr.write(`${repo}: ${got.files.length} files, ${got.downloaded.length} downloaded and ${got.files.length - got.downloaded.length} from the cache\n`);
      if (flags.json) process.stdout.write(`${JSON.stringify(got, null, 2)}\n`);
      else process.stdout.write(`${got.dir}\n`);
    });

  group(program, 'data', 'datasets: the layouts found, DePT splits and k-shot samples')
    .command('fetch')
    .description("download a dataset's Parquet files from the Hugging Face hub into the data directory (the hf-parquet layout) and print the folder")
    .argument('<dataset>', 'glue/rte, super_glue/cb, scitail/snli_format, snli, or a hub dataset id (org/name, org/name/config)')
    .option('--config <name>', "the config, when <dataset> does not name it (default: the one <dataset> names, if any)")
    .option('--revision <rev>', "where the Parquet files are (default: the repository's own on main, else the hub's conversion, refs/convert/parquet)")
    .option('--data-dir <dir>', 'the data directory to write into; files land in <dir>/<dataset>/<config>/ (default: $DEPT_DATA, else datasets/)')
    .addOption(new Option('--out <dir>', 'deprecated: the old name of --data-dir').hideHelp())
    .option('--cache-dir <dir>', 'the hub cache (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)')
    .option('--json', 'print a JSON summary instead of the folder (default: off)')
    .addHelpText('after', ENV_HELP)
    .action(async (dataset: string, flags: FetchFlags & { config?: string; dataDir?: string; out?: string }) => {
      if (flags.out !== undefined) {
        if (flags.dataDir !== undefined && flags.dataDir !== flags.out) throw new DeptError(`--out ${flags.out} and --data-dir ${flags.dataDir} name two data directories; give --data-dir only (--out is its old name)`);
        process.stderr.write('dept: warning: data fetch --out is deprecated; it is now --data-dir, as in every other command\n');
      }
      const dataDir = flags.dataDir ?? flags.out;
      const { fetchHfDataset } = await import('@dept/tasks');
      const got = await fetchHfDataset(dataset, {
        ...hubOptions(flags, dataset),
        ...(flags.config !== undefined ? { config: flags.config } : {}),
        ...(flags.revision !== undefined ? { revision: flags.revision } : {}),
        ...(dataDir !== undefined ? { dataDir } : {}),
      });
      const counts = Object.entries(got.splits).map(([s, f]) => `${s} ${f.length} file${f.length === 1 ? '' : 's'}`).join(', ');
      process.stderr.write(`${dataset}: ${got.changed ? 'wrote' : 'already up to date:'} ${got.folder} (${counts}; from ${got.repo}@${got.revision})\n`);
      if (flags.json) process.stdout.write(`${JSON.stringify(got, null, 2)}\n`);
      else process.stdout.write(`${got.folder}\n`);
    });

  group(program, 'bank', 'inspect and convert prompt banks (DePT .bin, ATTEMPT .pt, PEFT, ours)')
    .command('fetch')
    .description('download a PEFT prompt-tuning adapter (adapter_config.json + adapter_model.safetensors) from the Hugging Face hub into the hub cache and print its folder; then --bank <repo>[@revision] names it anywhere')
    .argument('<repo>', 'hub model id of the adapter, optionally with @revision: org/name, org/name@v1, org/name@<commit>')
    .option('--revision <rev>', 'branch, tag, refs/pr/N or commit, instead of @revision (default: the @revision, else main)')
    .option('--cache-dir <dir>', 'the hub cache (default: $HF_HUB_CACHE, else $HF_HOME/hub, else ~/.cache/huggingface/hub)')
    .option('--json', 'print a JSON summary instead of the folder (default: off)')
    .addHelpText('after', `${ENV_HELP}\n\nadapter_model.bin (a PyTorch pickle) is never fetched; a local copy can still be read: dept bank convert FILE`)
    .action(async (ref: string, flags: FetchFlags) => {
      const at = ref.indexOf('@');
      const repo = at < 0 ? ref : ref.slice(0, at);
      const inRef = at < 0 ? undefined : ref.slice(at + 1);
      if (inRef !== undefined && flags.revision !== undefined && inRef !== flags.revision) {
        throw new DeptError(`${ref}: names revision "${inRef}" but --revision says "${flags.revision}"; give one`);
      }
      const revision = inRef ?? flags.revision ?? 'main';
      const { fetchBank } = await import('@dept/transfer');
      const got = await fetchBank(repo, { ...hubOptions(flags, repo), revision });
      const s = got.shape;
      const name = `${repo}${revision === 'main' ? '' : `@${revision}`}`;
      for (const n of got.notes) process.stderr.write(`note: ${n}\n`);
      process.stderr.write(`${repo}: ${got.format} bank (m ${s.num_virtual_tokens}, d ${s.token_dim}, s ${s.max_length}, r ${s.r}${got.base_model_name_or_path ? `, made for ${got.base_model_name_or_path}` : ''}); ${got.files.length} files, ${got.downloaded.length} downloaded and ${got.files.length - got.downloaded.length} from the cache; use it as --bank ${name}\n`);
      if (flags.json) process.stdout.write(`${JSON.stringify(got, null, 2)}\n`);
      else process.stdout.write(`${got.dir}\n`);
    });
}
