/** One source per configured system; a system without a config section has none (its view says "not configured"). */
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';
import { createFluvioSource } from './fluvio';
import { createGreptimeSource } from './greptime';
import { createMilvusSource } from './milvus';
import { createQuickwitSource } from './quickwit';
import { createTikvSource } from './tikv';

export function createSources(config: GatewayConfig): SubsystemSource[] {
  const sources: SubsystemSource[] = [];
  if (config.greptime) sources.push(createGreptimeSource(config.greptime, config));
  if (config.quickwit) sources.push(createQuickwitSource(config.quickwit, config));
  if (config.milvus) sources.push(createMilvusSource(config.milvus, config));
  if (config.tikv) sources.push(createTikvSource(config.tikv, config));
  if (config.fluvio) sources.push(createFluvioSource(config.fluvio, config));
  return sources;
}
