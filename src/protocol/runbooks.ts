/**
 * Where each rule's runbook is (docs/rules/<rule-id>.md): the one definition of the runbooks' base
 * URL, used by the diagnostic's `codeDescription.href`, the hover's "Runbook" line and SARIF's
 * `helpUri` (docs/rules/README.md, "Where the links point").
 *
 * The project has no public home (package.json has no `repository` or `homepage`; `vsce package`
 * runs with `--allow-missing-repository`), so there is no stable https URL to link to. The pages
 * ship in the VSIX instead (.vscodeignore), and a link points at the installed copy, a `file:` URL
 * beside the bundle that makes it. A published copy (an internal docs site, a repository's web
 * view) replaces that base wherever `CLUSTER_DEBUGGER_RUNBOOKS_URL` is set, which is what SARIF
 * read by CI tools on another machine wants; or set `PUBLISHED_RUNBOOKS_URL` below once the
 * project has a public home.
 */
import type { RuleId } from './findings';

/** The runbooks' folder, relative to the repository's root and to the installed extension's. */
export const RUNBOOKS_DIR = 'docs/rules';

/** The environment variable that names a published copy of docs/rules/ (a URL of the folder). */
export const RUNBOOKS_URL_ENV = 'CLUSTER_DEBUGGER_RUNBOOKS_URL';

/** The runbooks' public URL (of docs/rules/), when the project has one; undefined: there is none yet. */
export const PUBLISHED_RUNBOOKS_URL: string | undefined = undefined;

/**
 * The base URL of the runbooks (ending in `/`): `CLUSTER_DEBUGGER_RUNBOOKS_URL`, else the published
 * URL, else the installed copy (`installedDir`: the file URL of a docs/rules/ folder found beside the
 * running bundle), else undefined (no link is given).
 */
export function runbooksBase(env: Readonly<Record<string, string | undefined>>, installedDir?: string): string | undefined {
  const base = env[RUNBOOKS_URL_ENV]?.trim() || PUBLISHED_RUNBOOKS_URL || installedDir;
  if (!base) return undefined;
  return base.endsWith('/') ? base : `${base}/`;
}

/** A rule's runbook page under a base: `<base>shards/dangling.md`. */
export function runbookUrl(rule: RuleId, base: string): string {
  return `${base}${rule}.md`;
}

/** The hover's line that links a rule's runbook. */
export function runbookLine(rule: RuleId, base: string): string {
  return `Runbook: [${rule}](${runbookUrl(rule, base)})`;
}
