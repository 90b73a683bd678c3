/**
 * What a Fluvio local cluster shows of itself outside the SC's metadata files: whether an SC runs
 * on the folder (its process), and the platform version it was started with (`local-config`).
 *
 * - The SC of a local cluster is started by fluvio-cluster (`src/runtime/local/sc.rs`, infinyon/fluvio
 *   at bcce9f22) as `<launcher> run sc --local <data>/metadata …`; `fluvio cluster shutdown` finds it
 *   again by its name and arguments (`src/process/mod.rs`, `kill_local_processes`). So does this.
 * - `fluvio cluster start --local` saves its `LocalConfig` as TOML to `~/.fluvio/local-config`
 *   (`src/start/local.rs`, `save_config_file`; since v0.11.6, #3923), with `platform_version` and
 *   `data_dir` (`~/.fluvio/data` by default; the metadata folder is `<data_dir>/metadata`).
 */
import { readdir, readFile, readlink, realpath } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';

export interface ScProcess {
  pid: number;
  /** The command line, arguments joined by spaces. */
  command: string;
}

async function canonical(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    return resolve(path);
  }
}

/**
 * The processes running a Fluvio SC on `metadataDir` (`… sc … --local <metadataDir>`), from
 * `procDir` (`/proc`); undefined when it cannot be read (no /proc: whether an SC runs is unknown).
 */
export async function scProcesses(metadataDir: string, procDir = '/proc'): Promise<ScProcess[] | undefined> {
  let entries: string[];
  try {
    entries = await readdir(procDir);
  } catch {
    return undefined;
  }
  const target = await canonical(metadataDir);
  const found: ScProcess[] = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    let args: string[];
    try {
      args = (await readFile(join(procDir, name, 'cmdline'), 'utf8')).split('\0').filter((a) => a !== '');
    } catch {
      continue; // gone, or not ours to read
    }
    const sc = args.indexOf('sc');
    if (sc < 0) continue;
    for (let i = sc + 1; i < args.length; i++) {
      const local = args[i] === '--local' ? args[i + 1] : args[i]!.startsWith('--local=') ? args[i]!.slice('--local='.length) : undefined;
      if (local === undefined) continue;
      let path = local;
      if (!isAbsolute(path)) {
        const cwd = await readlink(join(procDir, name, 'cwd')).catch(() => undefined);
        if (cwd === undefined) continue;
        path = join(cwd, path);
      }
      if ((await canonical(path)) === target) found.push({ pid: Number(name), command: args.join(' ') });
      break;
    }
  }
  return found;
}

/** A TOML basic string's value (`"…"` with `\\` and `\"` escapes), or undefined. */
function tomlString(text: string, key: string): string | undefined {
  const m = new RegExp(`^${key}\\s*=\\s*"((?:[^"\\\\]|\\\\.)*)"\\s*$`, 'm').exec(text);
  return m ? m[1]!.replace(/\\(["\\])/g, '$1') : undefined;
}

export interface LocalVersion {
  version: string;
  from: string;
}

/**
 * The platform version of the local cluster whose data folder holds `metadataDir`, from its
 * `local-config` (`path`, default `<metadataDir>/../../local-config`); undefined when there is none,
 * or it names another data folder.
 */
export async function localClusterVersion(metadataDir: string, path?: string): Promise<LocalVersion | undefined> {
  const dataDir = dirname(resolve(metadataDir));
  const file = path ?? join(dirname(dataDir), 'local-config');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const version = tomlString(text, 'platform_version');
  const data = tomlString(text, 'data_dir');
  if (!version || !data || (await canonical(data)) !== (await canonical(dataDir))) return undefined;
  return { version, from: `${file}: platform_version (written by fluvio cluster start --local)` };
}
