// Types of scripts/layers.mjs, for the TypeScript tests that import it.
export declare const LAYERS: readonly string[];
export declare const LAYER_RULES: Readonly<Record<string, { may: readonly string[]; rule: string }>>;
export interface PackageRule {
  names: readonly string[];
  builtin?: boolean;
  allowedIn: readonly string[];
  why: string;
}
export declare const PACKAGE_RULES: readonly PackageRule[];
export declare function packageRegex(rule: Pick<PackageRule, 'names' | 'builtin'>): RegExp;
export declare function layerViolation(layer: string, target: { relativeToSrc: string } | { specifier: string }): string | undefined;
export declare function renderLayerTables(): string;
