/**
 * `cluster-check URL --watch [--format text|jsonl]`: stays connected and prints one line per
 * finding that appears, changes (count or severity) or is resolved, for a chat or paging tool
 * to read from a pipe. First the findings the cluster has when the watch connects, each as
 * `appeared`, then one `synced` line; from then on changes only.
 *
 * The engine keeps the cluster in step (events, resyncs) and reconnects with its backoff; the
 * workspace's `changed` event says when the findings may have changed, and `diffFindings`
 * (watch-events.ts) says what did. After `--retries` failed reconnects in a row the session gives
 * up: exit 2. SIGINT and SIGTERM end the watch: exit 0.
 *
 * Each line is written on its own (no buffering here), and coloured only on a terminal.
 */
import { errorText, ruleReadiness, SUBSYSTEMS, type Finding } from '../protocol';
import { redactUrls } from '../protocol/redact';
import { connectClusterClient } from '../engine/link';
import { ClusterWorkspace } from '../engine/workspace';
import { ConnectError, type WorkspaceCluster } from '../engine/cluster';
import { DEFAULT_BACKOFF } from '../engine/backoff';
import { Fatal, type CliArgs, type WatchOptions } from './args';
import { diffFindings, renderWatchJson, renderWatchText, watchEvent, type WatchLine } from './watch-events';

/** The name the target is connected under. */
const WATCH_CLUSTER = 'cluster';

export interface WatchArgs extends Pick<CliArgs, 'target' | 'token'> {
  format: 'text' | 'jsonl';
  watch: WatchOptions;
}

/** Resolves with the exit code: 0 when stopped by a signal, 2 when the connection is lost for good. */
export async function runWatch(args: WatchArgs): Promise<number> {
  const out = process.stdout;
  const colour = args.format === 'text' && out.isTTY === true && !process.env.NO_COLOR;
  const print = (line: WatchLine) => out.write(`${args.format === 'jsonl' ? renderWatchJson(line) : renderWatchText(line, colour)}\n`);
  const note = (line: string) => process.stderr.write(`cluster-check: ${redactUrls(line)}\n`);

  const workspace = new ClusterWorkspace({
    connect: connectClusterClient,
    log: () => undefined,
    reconnect: true,
    backoff: { initialMs: args.watch.retryDelayMs, maxMs: Math.max(DEFAULT_BACKOFF.maxMs, args.watch.retryDelayMs) },
    maxReconnects: args.watch.retries,
    journalSource: 'cli',
  });
  // The engine's reconnect timer does not hold the process open (the editor's server has other
  // work); the watch has nothing else, so this does, until it ends.
  const keepAlive = setInterval(() => undefined, 1 << 30);
  let finish: (code: number) => void = () => undefined;
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const stop = () => finish(0);
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    let cluster: WorkspaceCluster;
    try {
      // Read-only: the watch never repairs, and the engine refuses any repair before it is sent.
      await Promise.race([
        workspace.connect({ name: WATCH_CLUSTER, url: args.target, token: args.token ?? '', protection: 'read-only' }),
        finished.then(() => {
          throw new Stopped();
        }),
      ]);
      cluster = workspace.require(WATCH_CLUSTER);
    } catch (e) {
      if (e instanceof Stopped) return 0;
      throw new Fatal(`cannot watch ${args.target}: ${e instanceof ConnectError ? e.reason : errorText(e)}`);
    }
    const name = () => cluster.session.model?.status.clusterName || WATCH_CLUSTER;
    const current = (): Finding[] => cluster.checker.findings();
    let known = new Map<string, Finding>();
    const at = new Date().toISOString();
    for (const f of current()) {
      if (f.provisional || known.has(f.id)) continue;
      known.set(f.id, f);
      print(watchEvent('appeared', f, { cluster: name(), at }));
    }
    print({ event: 'synced', at, cluster: name(), findings: known.size });

    // What the cluster cannot check now (a store unavailable): its findings are held, not resolved.
    const notChecked = (f: Finding) => {
      const status = cluster.session.model?.status;
      return status !== undefined && ruleReadiness(f.rule, status).state === 'unknown';
    };
    const unchecked = () => {
      const subsystems = cluster.session.model?.status.subsystems ?? {};
      return SUBSYSTEMS.flatMap((s) => {
        const h = subsystems[s];
        return h && h.state !== 'ok' ? [`${s} ${h.state}${h.reason ? ` (${h.reason})` : ''}`] : [];
      }).join('; ');
    };
    let notCheckedNow = unchecked();
    if (notCheckedNow) note(`not checked now: ${notCheckedNow}`);
    let lost = false;
    workspace.addListener({
      changed: (c) => {
        if (c !== cluster) return;
        const state = c.session.state;
        if (state === 'disconnected') {
          note(`lost ${args.target}: ${c.session.error ?? 'disconnected'}`);
          finish(2);
          return;
        }
        if (state === 'stale' && !lost) {
          lost = true;
          note(
            `connection to ${args.target} lost (${c.session.error ?? 'no reason given'}); reconnecting, up to ${args.watch.retries} attempts`,
          );
        } else if (state === 'live' && lost) {
          lost = false;
          note(`reconnected to ${args.target}`);
        }
        const nowUnchecked = unchecked();
        if (nowUnchecked !== notCheckedNow) {
          notCheckedNow = nowUnchecked;
          note(
            nowUnchecked
              ? `not checked now: ${nowUnchecked}; its findings are kept until it is checked again`
              : 'every subsystem is checked again',
          );
        }
        const diff = diffFindings(known, current(), { cluster: name(), at: new Date().toISOString() }, notChecked);
        known = diff.known;
        for (const e of diff.events) print(e);
      },
      removed: () => finish(2),
    });
    return await finished;
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    clearInterval(keepAlive);
    workspace.dispose();
  }
}

/** A signal came while connecting. */
class Stopped extends Error {}
