// `node scripts/grep-secrets.mjs [options] DIR...`: searches every file below each DIR, text or binary, for a
// test secret, and exits 1 naming the file, the line and an excerpt with the secret masked; 0 when none is
// found. The last step of `npm test` (scripts/test-all.mjs), over everything the run printed and left (#20).
//
// A test secret is (1) anything starting with the marker `cd-test-secret-` (test/secrets.ts's testSecret),
// or (2) a literal listed in a `known` file, one a line (by default `.secrets/known` of each DIR, which
// testSecret fills; a secret a test did not make, e.g. a password a product generated, can be added there).
// `.secrets/` itself, and the files listed in `.secrets/inputs` (configs and password files a program must
// read, written by test/secrets.ts's writeSecretInput; or folders, skipped whole), are not searched.
//
// Options: --known FILE (more literals), --inputs FILE (more files to skip), --newer-than MS (only files
// modified since that epoch time in ms; for shared folders such as .test-artifacts/ that keep older runs).
import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const SECRET_MARKER = 'cd-test-secret-';
/** Literals shorter than this are not searched: a short one would match by chance (and no test secret is that short). */
const MIN_LITERAL = 8;
const EXCERPT = 60;

function lines(file) {
  return existsSync(file)
    ? readFileSync(file, 'utf8')
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
    : [];
}

/** `cd-test-secret-<label>-<random>` as `[test secret "label"]`; a known literal as `[secret ab…]`; control bytes as `.`. */
function mask(text, literals) {
  let out = text.replace(/cd-test-secret-([a-z0-9]+(?:-[a-z0-9]+)*?)-[0-9a-f]*/g, (_, label) => `[test secret "${label}"]`);
  out = out.replaceAll(SECRET_MARKER, '[test secret]');
  for (const l of literals) out = out.replaceAll(l, `[secret ${l.slice(0, 2)}…]`);
  // eslint-disable-next-line no-control-regex -- control bytes are exactly what is replaced
  return out.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '.');
}

/** Every regular file below `dir` (symbolic links are not followed), skipping `.secrets/`. */
function* walk(dir, top = dir) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return; // removed while we looked (a process still ending), or unreadable
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) {
      if (!(dir === top && e.name === '.secrets')) yield* walk(path, top);
    } else if (e.isFile()) yield path;
  }
}

/**
 * The places where a secret occurs: `{ file, line, what, excerpt }` (what: `marker` or `literal`), at most
 * `maxPerFile` per file. `dirs` are searched whole; `literals` and `skip` (absolute paths) add to each
 * dir's `.secrets/known` and `.secrets/inputs`.
 */
export function grepSecrets({ dirs, literals = [], skip = [], newerThanMs, maxPerFile = 5 }) {
  const findings = [];
  for (const dir0 of dirs) {
    const dir = resolve(dir0);
    const known = [...new Set([...literals, ...lines(join(dir, '.secrets', 'known'))])].filter((l) => l.length >= MIN_LITERAL);
    // A listed folder (a program's own store, say) is skipped whole.
    const skippedDirs = [...skip, ...lines(join(dir, '.secrets', 'inputs'))].map((p) => resolve(p));
    const needles = [
      { what: 'marker', bytes: Buffer.from(SECRET_MARKER) },
      ...known.filter((l) => !l.startsWith(SECRET_MARKER)).map((l) => ({ what: 'literal', bytes: Buffer.from(l) })),
    ];
    for (const file of walk(dir)) {
      if (skippedDirs.some((d) => file === d || file.startsWith(`${d}/`))) continue;
      if (newerThanMs !== undefined) {
        try {
          if (lstatSync(file).mtimeMs < newerThanMs) continue;
        } catch {
          continue;
        }
      }
      let data;
      try {
        data = readFileSync(file);
      } catch {
        continue; // removed while we looked, or a socket
      }
      const hits = [];
      for (const { what, bytes } of needles)
        for (let at = data.indexOf(bytes); at !== -1 && hits.length < maxPerFile; at = data.indexOf(bytes, at + 1)) hits.push({ at, what });
      hits.sort((a, b) => a.at - b.at);
      for (const { at, what } of hits.slice(0, maxPerFile)) {
        let line = 1;
        for (let i = data.indexOf(10); i !== -1 && i < at; i = data.indexOf(10, i + 1)) line++;
        const from = Math.max(0, data.lastIndexOf(10, at) + 1, at - EXCERPT);
        const nl = data.indexOf(10, at);
        const to = Math.min(nl === -1 ? data.length : nl, at + EXCERPT + 40);
        findings.push({
          file: relative(process.cwd(), file).startsWith('..') ? file : relative(process.cwd(), file),
          line,
          what,
          excerpt: mask(data.subarray(from, to).toString('latin1'), known),
        });
      }
    }
  }
  return findings;
}

/** The command line; returns the exit code (0: none found, 1: found, 2: usage). */
export function main(argv, write = (s) => process.stdout.write(s)) {
  const dirs = [];
  const literals = [];
  const skip = [];
  let newerThanMs;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--known') literals.push(...lines(value()));
      else if (a === '--inputs') skip.push(...lines(value()));
      else if (a === '--newer-than') newerThanMs = Number(value());
      else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
      else dirs.push(a);
    } catch (e) {
      write(`grep-secrets: ${e.message}\nusage: node scripts/grep-secrets.mjs [--known FILE] [--inputs FILE] [--newer-than MS] DIR...\n`);
      return 2;
    }
  }
  if (dirs.length === 0 || (newerThanMs !== undefined && !Number.isFinite(newerThanMs))) {
    write('usage: node scripts/grep-secrets.mjs [--known FILE] [--inputs FILE] [--newer-than MS] DIR...\n');
    return 2;
  }
  const findings = grepSecrets({ dirs, literals, skip, newerThanMs });
  for (const f of findings) write(`${f.file}:${f.line}: ${f.what === 'marker' ? 'a test secret' : 'a known secret'}: ${f.excerpt}\n`);
  const files = new Set(findings.map((f) => f.file)).size;
  write(
    findings.length === 0
      ? `grep-secrets: no test secret in ${dirs.join(', ')}\n`
      : `grep-secrets: ${findings.length} secret(s) in ${files} file(s): a password or token leaked into an output\n`,
  );
  return findings.length === 0 ? 0 : 1;
}

// `node scripts/grep-secrets.mjs` (not import.meta: the tests bundle this file as CommonJS).
if (/[\\/]scripts[\\/]grep-secrets\.mjs$/.test(process.argv[1] ?? '')) process.exitCode = main(process.argv.slice(2));
