// The extension's command flows against a fake `vscode` (fake-vscode.ts) and a fake context: what
// the repair picks offer, that a read-only cluster is refused before anything is sent, that Enter
// never applies a repair that may lose data, and how the command table says why a command cannot
// run. No VS Code, no language server.
import * as assert from 'node:assert/strict';
import { ProgressLocation } from 'vscode';
import type { ApplyRepairArgs, ApplyRepairResult, ClusterInfo, FindingSummary } from '../../../src/protocol/lsp';
import { LspCommands } from '../../../src/protocol/lsp';
import { pickAndPreview, pickAndRepair, repairFinding } from '../../../src/extension/commands/repair';
import { runServerCommand } from '../../../src/extension/commands/table';
import type { Ctx, Requirement } from '../../../src/extension/ctx';
import type { ServerApi } from '../../../src/extension/languageServer/serverApi';
import { cluster } from './clusterInfo';
import { fake } from './fake-vscode';

const ANCHOR = { collection: 'quickwit.metastore.shards', key: 'idx/src/shard-1', version: 3 } as const;

function finding(f: Partial<FindingSummary> & Pick<FindingSummary, 'id'>): FindingSummary {
  return {
    rule: 'shards/dangling',
    severity: 'error',
    subsystem: 'shards',
    group: 'idx/src',
    message: '3 metastore shards that no one else knows',
    count: 3,
    samples: [ANCHOR],
    anchor: ANCHOR,
    facts: [],
    cluster: 'sim',
    repairs: [],
    ...f,
  };
}

const DELETE = {
  id: 'delete',
  title: 'Delete the dangling shards',
  safety: 'may-lose-data',
  targetCount: 3,
  description: 'Deletes the rows',
  undoable: false,
  undoNote: 'the rows are gone',
} as const;
const CLOSE = { id: 'close', title: 'Close the dangling shards', safety: 'safe', targetCount: 3, undoable: true } as const;
const DANGLING = finding({ id: 'shards/dangling:idx/src', repairs: [CLOSE, DELETE] });
const NO_REPAIR = finding({ id: 'shards/orphaned:idx/src', rule: 'shards/orphaned', repairs: [] });

const RESULT: ApplyRepairResult = { ok: true, applied: 3, refused: 0, summary: 'Closed 3 shards.', details: [], resolved: true };

/** A context with only what the flows read, over a fake server whose calls are recorded in `sent`. */
function fakeCtx(opts: { api?: Partial<ServerApi>; clusters?: ClusterInfo[]; notReady?: (r: Requirement) => string | undefined } = {}) {
  const sent: { method: string; args: unknown[] }[] = [];
  const log: string[] = [];
  const recorded =
    (method: string, answer: (...args: unknown[]) => unknown) =>
    (...args: unknown[]) => {
      sent.push({ method, args });
      return answer(...args);
    };
  const api = {
    findings: recorded('findings', async () => [DANGLING, NO_REPAIR]),
    plan: recorded('plan', async (name, id) => (id === DANGLING.id ? { ...DANGLING, cluster: name as string } : null)),
    request: recorded('request', async () => ({ text: '# preview', preview: { summary: 'deletes 3 shards' } })),
    applyRepair: recorded('applyRepair', async () => RESULT),
    ...opts.api,
  };
  const ctx = {
    clusters: opts.clusters ?? [cluster('sim')],
    log: {
      info: (m: string) => log.push(`info: ${m}`),
      warn: (m: string) => log.push(`warn: ${m}`),
      error: (m: string) => log.push(`error: ${m}`),
      show: () => log.push('show'),
    },
    requireApi: () => api,
    notReadyReason: opts.notReady ?? (() => undefined),
    historyTree: { refresh: () => undefined },
    previews: { show: recorded('previews.show', async () => undefined) },
  };
  return { ctx: ctx as unknown as Ctx, sent, log };
}

/** Lets the `.then` of a shown message run. */
const settle = () => new Promise((r) => setImmediate(r));

beforeEach(() => fake.reset());

describe('Cluster: Repair… (pickAndRepair)', () => {
  it('offers the findings that have a repair, then the repairs with their safety and whether they can be undone', async () => {
    const { ctx, sent } = fakeCtx();
    fake.answer('window.showQuickPick', (items: unknown) => (items as unknown[])[0], undefined);
    assert.equal(await pickAndRepair(ctx, { cluster: 'sim' }), undefined, 'Escape at the second pick');

    assert.deepEqual(sent[0], { method: 'findings', args: [{ cluster: 'sim' }] });
    const [[findingItems, findingOptions], [repairItems, repairOptions]] = fake.callsOf('window.showQuickPick') as [unknown[], unknown][];
    assert.deepEqual(findingItems, [
      {
        label: '$(error) shards/dangling',
        description: 'sim · 3 entities · idx/src',
        detail: '3 metastore shards that no one else knows',
        finding: DANGLING,
      },
    ]);
    assert.deepEqual(findingOptions, {
      title: 'Repair: pick a finding',
      placeHolder: 'The finding to repair; next, its repair (one that may lose data asks first)',
      matchOnDescription: true,
      matchOnDetail: true,
      ignoreFocusOut: true,
    });
    assert.deepEqual(repairItems, [
      { label: 'Close the dangling shards', description: '$(shield) safe · can be undone', detail: 'Acts on 3 entities', repair: CLOSE },
      {
        label: 'Delete the dangling shards',
        description: '$(warning) may lose data · cannot be undone',
        detail: 'Acts on 3 entities · Deletes the rows · not undoable: the rows are gone',
        repair: DELETE,
      },
    ]);
    assert.deepEqual(repairOptions, {
      title: 'Repair shards/dangling (idx/src)',
      placeHolder: 'The repair to apply',
      ignoreFocusOut: true,
    });
    assert.deepEqual(
      sent.map((s) => s.method),
      ['findings'],
      'nothing planned or applied',
    );
  });

  it('marks the findings of a read-only cluster with why their repair will not be sent', async () => {
    const { ctx } = fakeCtx({ clusters: [cluster('sim', { protection: 'read-only' })] });
    fake.answer('window.showQuickPick', undefined);
    await pickAndRepair(ctx);
    const [[[item]]] = fake.callsOf('window.showQuickPick') as [{ description: string; detail: string }[]][];
    assert.equal(item.description, '$(lock) read-only · sim · 3 entities · idx/src');
    assert.equal(
      item.detail,
      'Not sent: sim is protected read-only (its protection level in clusterDebugger.clusters). 3 metastore shards that no one else knows',
    );
  });

  it('says so when no current finding has a repair', async () => {
    const { ctx } = fakeCtx({ api: { findings: async () => [NO_REPAIR] } });
    assert.equal(await pickAndRepair(ctx), undefined);
    assert.deepEqual(fake.callsOf('window.showInformationMessage'), [['No current finding has a repair.']]);
    assert.deepEqual(fake.callsOf('window.showQuickPick'), []);
  });

  it('words the same picks as a preview that sends nothing', async () => {
    const { ctx } = fakeCtx();
    fake.answer('window.showQuickPick', undefined);
    assert.equal(await pickAndPreview(ctx), undefined);
    const [[, options]] = fake.callsOf('window.showQuickPick') as [unknown, { title: string }][];
    assert.equal(options.title, 'Preview a repair (nothing is sent): pick a finding');
  });
});

describe('repairFinding (the quick fix flow)', () => {
  const args: ApplyRepairArgs = { cluster: 'prod', findingId: DANGLING.id, repairId: 'close' };

  it('refuses a read-only cluster with a message, before any preview or progress', async () => {
    const { ctx, sent, log } = fakeCtx({ clusters: [cluster('prod', { protection: 'read-only' })] });
    assert.equal(await repairFinding(ctx, args), undefined);
    assert.deepEqual(fake.callsOf('window.showWarningMessage'), [
      ['No repair is sent: prod is protected read-only (its protection level in clusterDebugger.clusters).'],
    ]);
    assert.deepEqual(
      sent.map((s) => s.method),
      ['plan'],
    );
    assert.deepEqual(fake.callsOf('window.withProgress'), []);
    assert.deepEqual(log, [
      `warn: Repair close of ${DANGLING.id} on prod: prod is protected read-only (its protection level in clusterDebugger.clusters); nothing sent.`,
    ]);
  });

  it('counts a cluster that refuses every repair itself as read-only, whatever its setting', async () => {
    const status = { readOnly: true } as unknown as ClusterInfo['status'];
    const { ctx, sent } = fakeCtx({ clusters: [cluster('prod', { protection: 'none', status })] });
    assert.equal(await repairFinding(ctx, args), undefined);
    assert.match(
      String(fake.callsOf('window.showWarningMessage')[0]?.[0]),
      /^No repair is sent: prod is read-only: it refuses every repair/,
    );
    assert.ok(!sent.some((s) => s.method === 'applyRepair'));
  });

  it('applies a safe repair at once, with cancellable progress, and reports the result', async () => {
    const { ctx, sent } = fakeCtx({ clusters: [cluster('prod')] });
    assert.deepEqual(await repairFinding(ctx, args), RESULT);
    assert.deepEqual(fake.callsOf('window.withProgress'), [
      [{ location: ProgressLocation.Notification, title: 'Cluster: Close the dangling shards', cancellable: true }],
    ]);
    const apply = sent.find((s) => s.method === 'applyRepair');
    assert.deepEqual(apply?.args[0], args);
    assert.deepEqual(fake.callsOf('window.showInformationMessage'), [['Closed 3 shards.', 'Show Log']]);
  });

  it('never applies a repair that may lose data on Enter: the first button sends nothing', async () => {
    const { ctx, sent, log } = fakeCtx({ clusters: [cluster('prod')] });
    fake.answer('window.showWarningMessage', undefined); // Escape
    assert.equal(await repairFinding(ctx, { ...args, repairId: 'delete' }), undefined);
    const [[message, options, ...buttons]] = fake.callsOf('window.showWarningMessage');
    assert.equal(message, 'Delete the dangling shards: this repair may lose data.');
    assert.equal((options as { modal: boolean }).modal, true);
    assert.match((options as { detail: string }).detail, /Preview: deletes 3 shards\./);
    assert.deepEqual(buttons, ['Preview', 'Apply Repair'], 'Preview first: the default (Enter) sends nothing');
    assert.ok(!sent.some((s) => s.method === 'applyRepair'));
    assert.equal(log.at(-1), `info: Repair delete of ${DANGLING.id} on prod: not confirmed, nothing sent.`);
  });

  it('rejects arguments that are not a repair', async () => {
    const { ctx } = fakeCtx();
    await assert.rejects(repairFinding(ctx, { cluster: 'sim' }), /^Error: Bad repair arguments: \{"cluster":"sim"\}$/);
  });
});

describe('the command table (runServerCommand)', () => {
  const applyArgs: ApplyRepairArgs = { cluster: 'sim', findingId: DANGLING.id, repairId: 'close' };
  const notNext = () => assert.fail('a server command with a flow of its own is not sent as is');

  it('says why a command cannot run without a cluster, and offers to start one', async () => {
    const why = 'No cluster is connected. Start the bundled simulator or connect to a cluster first.';
    const { ctx, sent } = fakeCtx({ notReady: (r) => (r === 'connection' ? why : undefined) });
    fake.answer('window.showWarningMessage', 'Connect…');
    assert.equal(await runServerCommand(ctx, LspCommands.applyRepair, [applyArgs], notNext), undefined);
    assert.deepEqual(fake.callsOf('window.showWarningMessage'), [[why, 'Start Bundled Simulator', 'Connect…']]);
    await settle();
    assert.deepEqual(fake.callsOf('commands.executeCommand'), [['clusterDebugger.connect']]);
    assert.deepEqual(sent, []);
  });

  it('offers the log while the language server is down', async () => {
    const why = 'The Cluster Debugger language server is not running: it stopped 5 times; not restarting again';
    const { ctx, log } = fakeCtx({ notReady: () => why });
    fake.answer('window.showWarningMessage', 'Show Log');
    await runServerCommand(ctx, LspCommands.applyAllSafe, [{ cluster: 'sim' }], notNext);
    assert.deepEqual(fake.callsOf('window.showWarningMessage'), [[why, 'Show Log']]);
    await settle();
    assert.deepEqual(log, ['show']);
  });

  it("runs the server's applyRepair as the extension's repair flow, and shows a failure instead of throwing it", async () => {
    const { ctx, sent, log } = fakeCtx();
    assert.deepEqual(await runServerCommand(ctx, LspCommands.applyRepair, [applyArgs], notNext), RESULT);
    assert.ok(sent.some((s) => s.method === 'applyRepair'));

    fake.reset();
    assert.equal(await runServerCommand(ctx, LspCommands.applyRepair, ['not args'], notNext), undefined);
    assert.deepEqual(fake.callsOf('window.showErrorMessage'), [['Cluster Debugger: Bad repair arguments: "not args"', 'Show Log']]);
    assert.equal(log.at(-1), 'error: clusterDebugger.repairFinding: Bad repair arguments: "not args"');
  });

  it('sends any other command to the server as is', async () => {
    const { ctx } = fakeCtx();
    const seen: unknown[] = [];
    const answer = runServerCommand(ctx, 'someone.else', [1, 2], (command, args) => {
      seen.push(command, args);
      return 'sent';
    });
    assert.equal(answer, 'sent');
    assert.deepEqual(seen, ['someone.else', [1, 2]]);
  });
});
