/**
 * greptime: not implemented yet. The source reads the ddl subsystem's
 * collections from greptime's own metadata store (see docs/gateway.md).
 */
import type { GatewayConfig } from '../config';
import type { SubsystemSource } from '../source';

export function createGreptimeSource(config: NonNullable<GatewayConfig['greptime']>, _all: GatewayConfig): SubsystemSource {
  void config;
  throw new Error('the greptime source is not implemented yet');
}
