/**
 * `Cluster: Find Entity…`: a quick pick over every entity of every connected cluster, by key or id.
 * The server searches (a cluster holds up to a million entities, which never cross to this process):
 * each keystroke, after a pause, cancels the previous request and asks for the first page; "More
 * matches…" asks for the next. Picking an entity reveals it in its view and opens its document line.
 */
import { CancellationTokenSource, Position, QuickPickItem, Selection, Uri, window, type Disposable } from 'vscode';
import { errorText } from '../../protocol/format';
import type { FoundEntity } from '../../protocol/lsp';
import type { Ctx } from '../ctx';

/** A pause in typing this long sends the query: one request per word typed, not per key. */
const TYPING_PAUSE_MS = 150;

type Item = QuickPickItem & ({ entity: FoundEntity } | { more: string });

export interface RevealedEntity {
  entity: FoundEntity;
  /** Whether its node was revealed in its view (some collections have none). */
  inTree: boolean;
  /** The document line the editor shows, if the entity has one. */
  line?: number;
}

/**
 * With `{ query }` (tests, other extensions): no picker, the first match is revealed. Without: the
 * quick pick. Returns what was revealed, or undefined when nothing was picked or matched.
 */
export async function findEntity(ctx: Ctx, args?: { query?: unknown }): Promise<RevealedEntity | undefined> {
  if (typeof args?.query === 'string') {
    const first = (await ctx.requireApi().findEntity(args.query, null)).entities[0];
    return first ? revealEntity(ctx, first) : undefined;
  }
  const picked = await pickEntity(ctx);
  return picked ? revealEntity(ctx, picked) : undefined;
}

function pickEntity(ctx: Ctx): Promise<FoundEntity | undefined> {
  const api = ctx.requireApi();
  const qp = window.createQuickPick<Item>();
  qp.title = 'Find Entity';
  qp.placeholder = 'Type part of a key or id (a shard id, a procedure id, a region, a topic…)';
  qp.matchOnDescription = true;
  const disposables: Disposable[] = [qp];
  let running: CancellationTokenSource | undefined;
  let timer: NodeJS.Timeout | undefined;
  let query = '';
  let found: Item[] = [];

  const show = (items: Item[], cursor: string | null) => {
    found = items;
    qp.items = cursor ? [...items, { label: '$(ellipsis) More matches…', alwaysShow: true, more: cursor }] : items;
    if (!items.length) qp.items = [{ label: `No entity's key holds "${query}"`, alwaysShow: true, more: '' }];
  };
  const ask = async (cursor: string | null) => {
    running?.cancel();
    running?.dispose();
    const source = (running = new CancellationTokenSource());
    qp.busy = true;
    try {
      const page = await api.findEntity(query, cursor, source.token);
      if (source.token.isCancellationRequested) return;
      show([...(cursor ? found : []), ...page.entities.map(itemOf)], page.cursor);
    } catch (e) {
      if (source.token.isCancellationRequested) return;
      ctx.log.warn(`Find Entity: ${errorText(e)}`);
      qp.items = [{ label: `$(error) ${errorText(e)}`, alwaysShow: true, more: '' }];
    } finally {
      if (running === source) qp.busy = false;
    }
  };

  return new Promise<FoundEntity | undefined>((resolve) => {
    disposables.push(
      qp.onDidChangeValue((value) => {
        if (timer) clearTimeout(timer);
        query = value.trim();
        if (!query) {
          running?.cancel();
          show([], null);
          qp.items = [];
          return;
        }
        timer = setTimeout(() => void ask(null), TYPING_PAUSE_MS);
      }),
      qp.onDidAccept(() => {
        const item = qp.selectedItems[0];
        if (!item) return;
        if ('more' in item) {
          if (item.more) void ask(item.more);
          return;
        }
        resolve(item.entity);
        qp.hide();
      }),
      qp.onDidHide(() => {
        if (timer) clearTimeout(timer);
        running?.cancel();
        running?.dispose();
        resolve(undefined);
        for (const d of disposables) d.dispose();
      }),
    );
    qp.show();
  });
}

const SEVERITY_ICONS = { error: '$(error) ', warning: '$(warning) ', info: '$(info) ' } as const;

/** A match as its tree node shows it: a problem marker, its state, and how many problems it has. */
function itemOf(entity: FoundEntity): Item {
  const problems = entity.problems ? ` · ${entity.problems === 1 ? '1 problem' : `${entity.problems} problems`}` : '';
  return {
    label: `${entity.severity ? SEVERITY_ICONS[entity.severity] : ''}${entity.key}`,
    description: `${entity.state ? `${entity.state} · ` : ''}${entity.collection} · ${entity.cluster}${problems}`,
    entity,
  };
}

/** Opens the entity's document line and reveals its node in its view (without taking the focus from the editor). */
export async function revealEntity(ctx: Ctx, entity: FoundEntity): Promise<RevealedEntity> {
  let line: number | undefined;
  if (entity.location) {
    const pos = new Position(entity.location.line, 0);
    const editor = await window.showTextDocument(Uri.parse(entity.location.uri), { selection: new Selection(pos, pos), preview: true });
    line = editor.selection.active.line;
  }
  const inTree = entity.treeId !== undefined && (await ctx.revealNode(entity.subsystem, entity.treeId, { focus: false }));
  if (!inTree) ctx.log.info(`Find Entity: ${entity.collection} ${entity.key} has no node in the ${entity.subsystem} view.`);
  return { entity, ...(line === undefined ? {} : { line }), inTree };
}
