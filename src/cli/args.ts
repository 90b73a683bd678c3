/** Command-line parsing for `cluster-check`. Errors are one line, for exit code 2. */
import { RULE_IDS, type RuleId } from '../protocol';
import { DEFAULT_DIFF_LIMIT } from '../analysis';

export const USAGE =
  'usage: cluster-check <ws-url | file.clustersnap> [--token T] [--format text|json|sarif] [--repair RULE|all] [--dry-run] [--yes] [--read-only] [--journal FILE] [--save FILE]\n' +
  '       cluster-check <ws-url> --watch [--token T] [--format text|jsonl] [--retries N] [--retry-delay MS]\n' +
  '       cluster-check diff <A> <B> [--token T] [--token-a T] [--token-b T] [--format text|json|sarif] [--limit N | --all]\n' +
  '       cluster-check undo --journal FILE [--last | --id ID] [--url ws-url] [--token T] [--yes] [--dry-run]\n' +
  "       cluster-check undo <ws-url> [--last | --id ID] [--token T] [--yes] [--dry-run]   (from a gateway's own journal)";

export const UNDO_USAGE =
  'usage: cluster-check undo --journal FILE [--last | --id ID] [--url ws-url] [--token T] [--yes] [--dry-run]\n' +
  "       cluster-check undo <ws-url> [--last | --id ID] [--token T] [--yes] [--dry-run]   (from a gateway's own journal)";

export interface UndoArgs {
  /** The local journal; undefined: the gateway's own journal at `url` (`journal.read`). */
  journal: string | undefined;
  /** A repair id (or a prefix of one); undefined: the newest repair that can be undone. */
  id: string | undefined;
  /** The cluster's URL (`--url`, or the positional one); default: the one the journal recorded. */
  url: string | undefined;
  token: string | undefined;
  yes: boolean;
  dryRun: boolean;
}

export type Format = 'text' | 'json' | 'sarif';

/** `--watch` prints one line per change: readable text, or JSON lines (`jsonl`). */
export type WatchFormat = 'text' | 'jsonl';

/** Reconnect attempts in a row before `--watch` gives up (exit 2), unless `--retries` says. */
export const DEFAULT_WATCH_RETRIES = 10;
/** The first reconnect delay of `--watch` (then doubling, capped at 10 s, jittered), unless `--retry-delay` says. */
export const DEFAULT_WATCH_RETRY_DELAY_MS = 250;

export interface WatchOptions {
  /** Reconnect attempts in a row after a drop before giving up (`--retries`). */
  retries: number;
  /** The first reconnect delay in ms (`--retry-delay`). */
  retryDelayMs: number;
}

export interface CliArgs {
  target: string;
  live: boolean;
  token: string | undefined;
  format: Format | 'jsonl';
  /** `--watch`: stay connected and print each finding that appears, changes or is resolved (src/cli/watch.ts). */
  watch: WatchOptions | null;
  /** Rules to repair: all of them for `--repair all`, none without `--repair`. */
  repair: RuleId[] | null;
  dryRun: boolean;
  yes: boolean;
  /** Nothing may be sent to the cluster: `--repair` is refused (its `--dry-run` preview is not). */
  readOnly: boolean;
  /** Repairs are journalled here (`--journal`). */
  journal: string | undefined;
  /** A snapshot of the live cluster is written here (`--save`), after any repair. */
  save: string | undefined;
}

export class UsageError extends Error {}

/** Exit code 2 with one line (not a usage error: a file that cannot be read, a cluster that cannot be reached). */
export class Fatal extends Error {}

export const DIFF_USAGE =
  'usage: cluster-check diff <A> <B> (each a file.clustersnap or a ws-url) [--token T] [--token-a T] [--token-b T] [--format text|json|sarif] [--limit N | --all]';

export interface DiffSideArgs {
  target: string;
  live: boolean;
  token: string | undefined;
}

export interface DiffArgs {
  a: DiffSideArgs;
  b: DiffSideArgs;
  format: Format;
  /** Entities shown per kind and collection; Infinity with `--all`. Counts are always exact. */
  limit: number;
}

const isLive = (target: string) => /^wss?:\/\//i.test(target);

/**
 * `cluster-check diff A B`. A live side's token: `--token-a` / `--token-b` for that side, else
 * `--token` (both sides), else `CLUSTER_SIM_TOKEN`.
 */
interface Option {
  /** The argument as given. */
  arg: string;
  /** `--flag` of `--flag=value`, else the whole argument. */
  flag: string;
  /** The option's value: inline (`--flag=value`), else the next argument (which it consumes). */
  take(): string;
}

/**
 * Walks `argv` one option at a time. A missing value, or a next argument that
 * is itself an option (`--token --format json`), is a UsageError naming
 * `usage`; with `inlineHint` it also says how to pass a value starting with "--".
 */
function* options(argv: readonly string[], usage: string, inlineHint: boolean): Generator<Option> {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const take = () => {
      if (inline !== undefined) return inline;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value; ${usage}`);
      // `--token --format json` is a forgotten value; a value that really starts with "--" goes inline.
      if (v.startsWith('--'))
        throw new UsageError(
          inlineHint
            ? `${flag} needs a value (for one starting with "--", write ${flag}=VALUE); ${usage}`
            : `${flag} needs a value; ${usage}`,
        );
      return v;
    };
    yield { arg, flag, take };
  }
}

function parseFormat(f: string): Format {
  if (f !== 'text' && f !== 'json' && f !== 'sarif') throw new UsageError(`unknown format '${f}' (text, json or sarif)`);
  return f;
}

export function parseDiffArgs(argv: string[], env: NodeJS.ProcessEnv): DiffArgs | 'help' {
  const targets: string[] = [];
  let token = env.CLUSTER_SIM_TOKEN || undefined;
  let tokenA: string | undefined;
  let tokenB: string | undefined;
  let format: Format = 'text';
  let limit = DEFAULT_DIFF_LIMIT;
  for (const { arg: a, flag, take } of options(argv, DIFF_USAGE, false)) {
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--token':
        token = take();
        break;
      case '--token-a':
        tokenA = take();
        break;
      case '--token-b':
        tokenB = take();
        break;
      case '--format':
        format = parseFormat(take());
        break;
      case '--limit': {
        const v = take();
        if (!/^\d+$/.test(v)) throw new UsageError(`--limit needs a whole number, not '${v}'`);
        limit = Number(v);
        break;
      }
      case '--all':
        limit = Infinity;
        break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}; ${DIFF_USAGE}`);
        targets.push(a);
    }
  }
  if (targets.length !== 2) throw new UsageError(`diff compares two targets (got ${targets.length}); ${DIFF_USAGE}`);
  const side = (target: string, own: string | undefined): DiffSideArgs => ({ target, live: isLive(target), token: own ?? token });
  return { a: side(targets[0], tokenA), b: side(targets[1], tokenB), format, limit };
}

export function parseArgs(argv: string[], env: NodeJS.ProcessEnv): CliArgs | 'help' {
  let target: string | undefined;
  let token = env.CLUSTER_SIM_TOKEN || undefined;
  let format: Format | 'jsonl' = 'text';
  let repair: RuleId[] | null = null;
  let dryRun = false;
  let yes = false;
  let readOnly = false;
  let journal: string | undefined;
  let save: string | undefined;
  let watch = false;
  let retries: number | undefined;
  let retryDelayMs: number | undefined;
  const whole = (flag: string, v: string) => {
    if (!/^\d+$/.test(v)) throw new UsageError(`${flag} needs a whole number, not '${v}'`);
    return Number(v);
  };
  for (const { arg: a, flag, take } of options(argv, USAGE, true)) {
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--token':
        token = take();
        break;
      case '--format': {
        const f = take();
        format = f === 'jsonl' ? f : parseFormat(f);
        break;
      }
      case '--watch':
        watch = true;
        break;
      case '--retries':
        retries = whole(flag, take());
        break;
      case '--retry-delay':
        retryDelayMs = whole(flag, take());
        break;
      case '--repair': {
        const r = take();
        if (r === 'all') repair = [...RULE_IDS];
        else if ((RULE_IDS as string[]).includes(r)) repair = [r as RuleId];
        else throw new UsageError(`unknown rule '${r}' for --repair (all, ${RULE_IDS.join(', ')})`);
        break;
      }
      case '--dry-run':
        dryRun = true;
        break;
      case '--yes':
      case '-y':
        yes = true;
        break;
      case '--read-only':
        readOnly = true;
        break;
      case '--journal':
        journal = take();
        break;
      case '--save':
        save = take();
        break;
      default:
        if (a.startsWith('-')) throw new UsageError(`unknown option ${a}; ${USAGE}`);
        if (target !== undefined) throw new UsageError(`one target only (got '${target}' and '${a}'); ${USAGE}`);
        target = a;
    }
  }
  if (target === undefined) throw new UsageError(`no target given; ${USAGE}`);
  const live = /^wss?:\/\//i.test(target);
  if (watch) {
    if (!live) throw new UsageError(`--watch needs a live cluster's ws:// URL, not a file; ${USAGE}`);
    if (format !== 'text' && format !== 'jsonl') throw new UsageError(`--watch prints text or jsonl, not ${format}`);
    const other = repair ? '--repair' : yes ? '--yes' : journal !== undefined ? '--journal' : save !== undefined ? '--save' : null;
    if (other) throw new UsageError(`--watch only watches: ${other} does not go with it`);
  } else {
    if (format === 'jsonl') throw new UsageError('--format jsonl is for --watch (one line per change); a check prints json');
    if (retries !== undefined || retryDelayMs !== undefined) throw new UsageError('--retries and --retry-delay are for --watch');
  }
  const watching = watch
    ? { retries: retries ?? DEFAULT_WATCH_RETRIES, retryDelayMs: Math.max(1, retryDelayMs ?? DEFAULT_WATCH_RETRY_DELAY_MS) }
    : null;
  if (dryRun && !repair) throw new UsageError('--dry-run only makes sense with --repair');
  if (readOnly && repair && !dryRun) {
    throw new UsageError(
      '--read-only refuses --repair: nothing may be sent to the cluster (preview the repairs with --repair RULE --dry-run)',
    );
  }
  if (journal !== undefined && !repair) throw new UsageError('--journal only makes sense with --repair (or with cluster-check undo)');
  if (save !== undefined && !live) throw new UsageError('--save writes a snapshot of a live cluster; give its ws:// URL');
  return { target, live, token, format, watch: watching, repair, dryRun, yes, readOnly, journal, save };
}

export function parseUndoArgs(argv: string[], env: NodeJS.ProcessEnv): UndoArgs | 'help' {
  let journal: string | undefined;
  let id: string | undefined;
  let last = false;
  let url: string | undefined;
  let token = env.CLUSTER_SIM_TOKEN || undefined;
  let yes = false;
  let dryRun = false;
  let positional: string | undefined;
  for (const { arg: a, flag, take } of options(argv, UNDO_USAGE, true)) {
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--journal':
        journal = take();
        break;
      case '--id':
        id = take();
        break;
      case '--last':
        last = true;
        break;
      case '--url':
        url = take();
        if (!isLive(url)) throw new UsageError(`--url needs a ws:// or wss:// URL, not '${url}'`);
        break;
      case '--token':
        token = take();
        break;
      case '--yes':
      case '-y':
        yes = true;
        break;
      case '--dry-run':
        dryRun = true;
        break;
      default:
        if (a.startsWith('-') || positional !== undefined) throw new UsageError(`unknown argument ${a}; ${UNDO_USAGE}`);
        if (!isLive(a)) throw new UsageError(`undo takes a ws:// or wss:// URL of a gateway that keeps a journal, not '${a}'`);
        positional = a;
    }
  }
  if (positional !== undefined && url !== undefined) throw new UsageError('give the URL once: as the argument or with --url');
  url ??= positional;
  if (journal === undefined && url === undefined) throw new UsageError(`undo needs --journal FILE, or a gateway's URL; ${UNDO_USAGE}`);
  if (last && id !== undefined) throw new UsageError('--last and --id name different repairs; give one');
  return { journal, id, url, token, yes, dryRun };
}
