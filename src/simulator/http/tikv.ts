/** The upstream HTTP routes of tikv that the simulator serves in their real shape: none yet. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Simulator } from '../simulator';

/** Answers a tikv route and returns true, or returns false for a path it does not serve. */
export function serveTikvRoute(_sim: Simulator, _req: IncomingMessage, _res: ServerResponse): boolean {
  return false;
}
