/** The upstream HTTP routes of quickwit that the simulator serves in their real shape: none yet. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Simulator } from '../simulator';

/** Answers a quickwit route and returns true, or returns false for a path it does not serve. */
export function serveQuickwitRoute(_sim: Simulator, _req: IncomingMessage, _res: ServerResponse): boolean {
  return false;
}
