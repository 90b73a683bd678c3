// Types of scripts/grep-secrets.mjs, for the TypeScript tests that import it.
export declare const SECRET_MARKER: string;
export interface SecretFinding {
  file: string;
  line: number;
  what: 'marker' | 'literal';
  excerpt: string;
}
export declare function grepSecrets(opts: {
  dirs: string[];
  literals?: string[];
  skip?: string[];
  newerThanMs?: number;
  maxPerFile?: number;
}): SecretFinding[];
export declare function main(argv: string[], write?: (s: string) => void): number;
