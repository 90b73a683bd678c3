/**
 * tikv: not implemented yet. The source reads the regions subsystem's
 * collections from tikv's own metadata store (see docs/gateway.md).
 */
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';

export function createTikvSource(config: NonNullable<GatewayConfig['tikv']>, _all: GatewayConfig): SubsystemSource {
  void config;
  throw new Error('the tikv source is not implemented yet');
}
