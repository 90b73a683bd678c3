/**
 * quickwit: not implemented yet. The source reads the shards subsystem's
 * collections from quickwit's own metadata store (see docs/gateway.md).
 */
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';

export function createQuickwitSource(config: NonNullable<GatewayConfig['quickwit']>, _all: GatewayConfig): SubsystemSource {
  void config;
  throw new Error('the quickwit source is not implemented yet');
}
