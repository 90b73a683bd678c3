// What a user does in the VS Code 1.100 workbench, as playwright-core steps with deadlines.
// Selectors are the ones docs/vscode-host.md lists as checked against VS Code 1.100; nothing
// here sleeps for a fixed time: every wait is on a UI condition, bounded by a deadline.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';

export const DEFAULT_DEADLINE_MS = 30_000;

/** A box in the page's CSS pixels, as playwright-core's `boundingBox()` gives it. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The squiggles Monaco draws under a diagnostic's range, by severity. */
const SQUIGGLE = '.squiggly-error, .squiggly-warning, .squiggly-info';

/** Polls `probe` until it returns a truthy value; fails with `what` and the last state seen. */
export async function waitUntil<T>(
  what: string,
  probe: () => Promise<T | undefined | false | null>,
  opts: { timeoutMs?: number; describe?: () => Promise<string> } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? DEFAULT_DEADLINE_MS);
  let lastError = '';
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = (err as Error).message.split('\n')[0];
    }
    if (Date.now() > deadline) {
      const state = opts.describe ? await opts.describe().catch(() => '') : '';
      throw new Error(
        `timed out after ${(opts.timeoutMs ?? DEFAULT_DEADLINE_MS) / 1000} s waiting for ${what}` +
          (state ? `; saw: ${state}` : '') +
          (lastError ? ` (last error: ${lastError})` : ''),
      );
    }
    // Poll interval between checks of UI state (not a wait for the state itself).
    await new Promise((r) => setTimeout(r, 200));
  }
}

export class Workbench {
  constructor(readonly page: Page) {}

  async ready(timeoutMs = 60_000): Promise<void> {
    await this.page.locator('.monaco-workbench').waitFor({ timeout: timeoutMs });
    // The activity bar is drawn once the workbench has restored its layout.
    await this.page.locator('.activitybar .action-item').first().waitFor({ timeout: timeoutMs });
  }

  /** Opens an activity-bar container by its title (the label is on the inner `a`). */
  async openContainer(title: string, containerId: string): Promise<Locator> {
    const entry = this.page.locator(`.activitybar .action-item a.action-label[aria-label="${title}"]`);
    await entry.waitFor({ timeout: DEFAULT_DEADLINE_MS });
    const container = this.container(containerId);
    if (!(await container.isVisible())) await entry.click();
    await container.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS });
    return container;
  }

  container(containerId: string): Locator {
    return this.page.locator(`[id="workbench.view.extension.${containerId}"]`);
  }

  /** One view (pane) of a container, by the name on its header. */
  pane(containerId: string, viewName: string): Locator {
    return this.container(containerId)
      .locator('.pane')
      .filter({ has: this.page.locator('.pane-header .title', { hasText: new RegExp(`^${escapeRegExp(viewName)}$`, 'i') }) });
  }

  async expandPane(pane: Locator): Promise<void> {
    const header = pane.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) !== 'true') await header.click();
    await waitUntil('the view to expand', async () => (await header.getAttribute('aria-expanded')) === 'true');
  }

  async collapsePane(pane: Locator): Promise<void> {
    const header = pane.locator('.pane-header').first();
    if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
  }

  /** Runs a palette command by its full title, e.g. "Cluster: Start Bundled Simulator". */
  async runCommand(title: string): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await this.closeQuickInput();
    await this.page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS });
    await input.fill(`>${title}`);
    // Several commands can match the typed prefix ("Repair…" and "Repair All Safe Findings"):
    // click the row whose label is exactly the title.
    const row = this.quickPickRows().filter({
      has: this.page.locator('.label-name', { hasText: new RegExp(`^${escapeRegExp(title)}$`) }),
    });
    await row
      .first()
      .waitFor({ timeout: DEFAULT_DEADLINE_MS })
      .catch(async () => {
        throw new Error(`the palette has no command "${title}" (rows: ${await this.quickPickLabels()})`);
      });
    await row.first().click();
  }

  /** Go to Line/Column in the active editor, which also focuses it. */
  async goToLine(line: number, column: number): Promise<void> {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await this.closeQuickInput();
    await this.page.keyboard.press('F1');
    await input.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS });
    await input.fill(`:${line}:${column}`);
    await this.page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden', timeout: DEFAULT_DEADLINE_MS });
  }

  /** The editor of the active editor group (hidden editors of other groups and panes excluded). */
  activeEditor(): Locator {
    return activeEditor(this.page);
  }

  /**
   * Waits until `target` is laid out where a person could point at it, and returns its box: a
   * non-empty box, inside the page's viewport, the same on two polls in a row (not mid-scroll or
   * mid-layout). Waiting for an element to exist, or `isVisible`/`waitFor` at one instant, is not
   * enough: a VS Code element can be in the DOM before it has a box, and Monaco redraws its lines
   * and decorations as new nodes, so the node seen at one instant may be gone at the next.
   * `target` is a locator, or a probe that returns the box of what to point at (undefined: not yet).
   */
  async waitForBox(
    what: string,
    target: Locator | (() => Promise<Box | null | undefined>),
    opts: { timeoutMs?: number; describe?: () => Promise<string> } = {},
  ): Promise<Box> {
    const probe = typeof target === 'function' ? target : () => target.boundingBox({ timeout: 1000 });
    const viewport = this.page.viewportSize();
    let last: Box | undefined;
    let seen = 'no box';
    return waitUntil(
      `${what} to be laid out and in view`,
      async () => {
        const previous = last;
        last = undefined; // a probe that throws has seen no box
        const box = (await probe()) ?? undefined;
        seen = box ? JSON.stringify(box) : 'no box';
        const laidOut =
          box !== undefined &&
          box.width > 0 &&
          box.height > 0 &&
          (!viewport || (box.x >= 0 && box.y >= 0 && box.x + box.width <= viewport.width && box.y + box.height <= viewport.height));
        last = laidOut ? box : undefined;
        return laidOut && previous !== undefined && sameBox(previous, box) && box;
      },
      { timeoutMs: opts.timeoutMs, describe: opts.describe ?? (async () => seen) },
    );
  }

  /**
   * The box of a squiggle on `line` of the active editor, once it is drawn there, in the editor's
   * view and not covered (by a notification, a widget): what a person would point the mouse at to
   * see the diagnostic's hover. The part of it inside the editor's view, if the line runs past it.
   */
  async squiggleOnLine(line: number, timeoutMs?: number): Promise<Box> {
    const editor = this.activeEditor();
    const find = () =>
      editor.evaluate(
        (el: any, args: { line: number; squiggle: string }) => {
          const doc = el.ownerDocument;
          const number = [...el.querySelectorAll('.margin-view-overlays .line-numbers')].find(
            (n: any) => String(n.textContent).trim() === String(args.line),
          );
          if (!number) return undefined;
          const row = number.getBoundingClientRect();
          const view = (el.querySelector('.overflow-guard') ?? el).getBoundingClientRect();
          for (const squiggle of el.querySelectorAll(args.squiggle)) {
            const r = squiggle.getBoundingClientRect();
            const middle = r.top + r.height / 2;
            if (middle < row.top || middle > row.bottom) continue; // another line's
            const left = Math.max(r.left, view.left);
            const right = Math.min(r.right, view.right);
            const top = Math.max(r.top, view.top);
            const bottom = Math.min(r.bottom, view.bottom);
            if (right - left < 1 || bottom - top < 1) continue; // out of the editor's view
            const at = doc.elementFromPoint((left + right) / 2, (top + bottom) / 2);
            if (!at || !el.contains(at)) continue; // something else is on top of it
            return { x: left, y: top, width: right - left, height: bottom - top };
          }
          return undefined;
        },
        { line, squiggle: SQUIGGLE },
      );
    return this.waitForBox(`a squiggle on line ${line} of the active editor`, find, {
      timeoutMs,
      describe: async () => {
        const numbers = await editor
          .locator('.margin-view-overlays .line-numbers')
          .allInnerTexts()
          .catch(() => []);
        const squiggles = await editor
          .locator(SQUIGGLE)
          .count()
          .catch(() => 0);
        return `lines on screen ${
          numbers
            .map((n) => n.trim())
            .filter(Boolean)
            .sort((a, b) => Number(a) - Number(b))
            .join(',') || '(none)'
        }; ${squiggles} squiggles`;
      },
    });
  }

  /**
   * Double-clicks the first Problems row of `rule`, as a user opens a problem: waits for the active
   * tab to match `tab`, and for the problem's squiggle to be drawn on its line, in view. Returns the
   * position the opened row shows ("[Ln N, Col M]").
   */
  async openProblem(rule: string, tab: RegExp = /\.clustersnap/): Promise<{ line: number; column: number; squiggle: Box }> {
    const rows = await this.filterProblems(rule);
    await waitUntil(`the ${rule} problem in the Problems panel`, async () => (await rows.count()) > 0, {
      timeoutMs: 60_000,
      describe: async () => (await rows.allInnerTexts()).join(' | ') || '(no rows)',
    });
    await rows.first().dblclick(); // opens the cluster:// document at the problem and selects the row
    // The row that was opened is the selected one (the list may have changed since it was counted).
    const opened = this.page.locator('.markers-panel .monaco-list-row.selected').filter({ hasText: rule });
    const where = await waitUntil(
      `the opened ${rule} problem's position`,
      async () => /\[Ln (\d+), Col (\d+)\]/.exec(await opened.first().innerText({ timeout: 1000 })),
      {
        describe: async () => (await opened.allInnerTexts()).join(' | ') || '(no selected row)',
      },
    );
    await waitUntil(`the editor to show the document of ${rule} (${tab})`, async () =>
      tab.test(await this.page.locator('.editor-group-container.active .tabs-container .tab.active').innerText({ timeout: 1000 })),
    );
    const line = Number(where[1]);
    return { line, column: Number(where[2]), squiggle: await this.squiggleOnLine(line) };
  }

  /**
   * Points the mouse at the middle of what `locate` finds, until `probe` is satisfied. The hover
   * comes only for a mouse that moved onto its range; if the editor redraws and none has come for
   * a while, it points again (as a person would), at where it is now.
   */
  async hoverUntil<T>(
    what: string,
    locate: () => Promise<Box>,
    probe: () => Promise<T | undefined | false | null>,
    opts: { timeoutMs?: number; describe?: () => Promise<string> } = {},
  ): Promise<T> {
    const pointAt = async () => {
      const box = await locate();
      const x = box.x + box.width / 2;
      const y = box.y + box.height / 2;
      // From a pixel beside it, so that pointing again is a move the editor sees.
      await this.page.mouse.move(x - 1, y);
      await this.page.mouse.move(x, y);
      return Date.now();
    };
    let pointed = await pointAt();
    return waitUntil(
      what,
      async () => {
        const value = await probe();
        if (value) return value;
        if (Date.now() - pointed > 3000 && !(await this.page.locator('.monaco-hover:visible').count())) pointed = await pointAt();
        return undefined;
      },
      opts,
    );
  }

  quickPickRows(): Locator {
    return this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  }

  async quickPickLabels(): Promise<string> {
    const texts = await this.quickPickRows().allInnerTexts();
    return texts.map((t) => t.replace(/\s+/g, ' ').trim()).join(' | ') || '(none)';
  }

  /** Waits for a quick pick whose title matches `title`, then picks the row containing `text`. */
  async pick(title: RegExp, text: RegExp | string, filter?: string): Promise<void> {
    await (await this.waitForPick(title, text, filter)).click();
  }

  /** Waits for a quick pick whose title matches `title` and a row containing `text`; returns the row. */
  async waitForPick(title: RegExp, text: RegExp | string, filter?: string): Promise<Locator> {
    const widget = this.page.locator('.quick-input-widget');
    await waitUntil(
      `a quick pick titled ${title}`,
      async () => (await widget.isVisible()) && title.test((await widget.locator('.quick-input-title').innerText()).trim()),
      {
        describe: async () =>
          `title "${await widget
            .locator('.quick-input-title')
            .innerText()
            .catch(() => '')}"`,
      },
    );
    if (filter !== undefined) await widget.locator('.quick-input-box input').fill(filter);
    const row = this.quickPickRows().filter({ hasText: text });
    await waitUntil(`a row matching ${text} in the pick ${title}`, async () => (await row.count()) > 0, {
      describe: () => this.quickPickLabels(),
    });
    return row.first();
  }

  /** Answers an input box whose title matches `title` with `value` (Enter), and waits for it to go. */
  async answerInput(title: RegExp, value: string): Promise<void> {
    const widget = this.page.locator('.quick-input-widget');
    const titleText = async () => (await widget.locator('.quick-input-title').innerText()).trim();
    await waitUntil(`an input box titled ${title}`, async () => (await widget.isVisible()) && title.test(await titleText()), {
      describe: async () => `title "${await titleText().catch(() => '')}"`,
    });
    await widget.locator('.quick-input-box input').fill(value);
    await this.page.keyboard.press('Enter');
    // The next step reuses the widget: wait until this one's title is gone, not just for the widget to hide.
    await waitUntil(`the input box ${title} to be answered`, async () => !(await widget.isVisible()) || !title.test(await titleText()));
  }

  async closeQuickInput(): Promise<void> {
    if (await this.page.locator('.quick-input-widget').isVisible()) await this.page.keyboard.press('Escape');
  }

  /** Opens the Problems panel (View: Focus Problems) and returns its rows. */
  async openProblems(): Promise<Locator> {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible())) {
      await this.page.keyboard.press('Control+Shift+M');
      await panel.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS });
    }
    return panel.locator('.monaco-list-row');
  }

  /**
   * The Problems rows matching `text` (message, source or code such as a rule id), using the
   * panel's own filter box: the list is virtual, so unfiltered rows past its height are not in the DOM.
   */
  async filterProblems(text: string): Promise<Locator> {
    const rows = await this.openProblems();
    const panel = this.page.locator('.panel');
    const filter = panel.getByPlaceholder(/^Filter \(e\.g\./).first();
    // "Showing N of M" is on screen exactly while a filter is applied (it is applied debounced).
    const badge = panel.getByText(/^Showing \d+ of \d+$/).first();
    await filter.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS });
    if ((await filter.inputValue()) !== text) {
      // Clear first, so that the badge showing again proves the new filter, not the old, is applied.
      await filter.fill('');
      await badge.waitFor({ state: 'hidden', timeout: DEFAULT_DEADLINE_MS });
      if (text) {
        await filter.fill(text);
        await badge.waitFor({ state: 'visible', timeout: DEFAULT_DEADLINE_MS });
      }
    }
    return rows.filter({ hasText: text });
  }

  /** Waits until no notification toast is still fading in, for stable screenshots. */
  async settleNotifications(): Promise<void> {
    const toasts = this.page.locator('.notifications-toasts .notification-toast');
    await waitUntil(
      'notifications to settle',
      async () => {
        const n = await toasts.count();
        const done = await this.page.locator('.notifications-toasts .notification-toast.notification-fade-in-done').count();
        return n === done;
      },
      { timeoutMs: 5000 },
    ).catch(() => {});
  }
}

function sameBox(a: Box, b: Box): boolean {
  return Math.abs(a.x - b.x) < 0.5 && Math.abs(a.y - b.y) < 0.5 && Math.abs(a.width - b.width) < 0.5 && Math.abs(a.height - b.height) < 0.5;
}

function activeEditor(page: Page): Locator {
  return page.locator('.editor-group-container.active .editor-instance .monaco-editor').first();
}

export function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The Problems panel's rendered rows, for failure messages. */
export async function problemsText(wb: Workbench): Promise<string> {
  const texts = await (await wb.openProblems()).allInnerTexts();
  return (
    texts
      .map((t) => t.replace(/\s+/g, ' ').trim())
      .join(' | ')
      .slice(0, 600) || '(no rows)'
  );
}

export async function rowsText(pane: Locator): Promise<string> {
  const texts = await pane.locator('.monaco-list-row').allInnerTexts();
  return texts.map((t) => t.replace(/\s+/g, ' ').trim()).join(' | ') || '(no rows)';
}

export interface TreeRow {
  index: string;
  level: number;
  expanded: string | null;
  marked: boolean;
  label: string;
}

/**
 * The rendered rows of a view. `marked` is a problem marker: the row's icon has the error or
 * warning theme colour, which is how the extension shows health (a ThemeIcon with a ThemeColor).
 */
export async function treeRows(pane: Locator): Promise<TreeRow[]> {
  // Runs in the page; typed loosely because this project compiles without the DOM library.
  return pane.evaluate((el: any) => {
    const doc = el.ownerDocument;
    const win = doc.defaultView;
    const probe = doc.createElement('span');
    el.appendChild(probe); // inside the workbench, where the theme's colour variables are defined
    const colorOf = (cssVar: string) => {
      probe.style.color = `var(${cssVar})`;
      return win.getComputedStyle(probe).color;
    };
    const marks = new Set([colorOf('--vscode-problemsErrorIcon-foreground'), colorOf('--vscode-list-warningForeground')]);
    probe.remove();
    return [...el.querySelectorAll('.monaco-list-row[role="treeitem"]')].map((row: any) => {
      const icon = row.querySelector('.custom-view-tree-node-item-icon');
      return {
        index: row.getAttribute('data-index'),
        level: Number(row.getAttribute('aria-level')),
        expanded: row.getAttribute('aria-expanded'),
        marked: !!icon && marks.has(win.getComputedStyle(icon).color),
        label: row.getAttribute('aria-label') ?? '',
      };
    });
  });
}

/** The extension's log as written so far (its LogOutputChannel's file under the run's user data). */
export function extensionLog(runDir: string): string {
  const found: string[] = [];
  const walk = (dir: string, depth: number) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (statSync(p).isDirectory()) {
        if (depth < 4) walk(p, depth + 1);
      } else if (name === 'Cluster Debugger.log') found.push(p);
    }
  };
  const logs = join(runDir, 'user-data', 'logs');
  if (existsSync(logs)) walk(logs, 0);
  return found.map((f) => readFileSync(f, 'utf8')).join('\n');
}

/**
 * The active editor's text as drawn: its rendered lines in order (Monaco positions them absolutely,
 * so DOM order is not line order) with Monaco's non-breaking spaces as spaces. Only the lines in view.
 */
export async function activeEditorText(page: Page): Promise<string> {
  return activeEditor(page).evaluate((el: any) =>
    [...el.querySelectorAll('.view-lines .view-line')]
      .map((line: any) => ({ top: parseFloat(line.style.top) || 0, text: String(line.textContent ?? '') }))
      .sort((a: { top: number }, b: { top: number }) => a.top - b.top)
      .map((line: { text: string }) => line.text.replace(/\u00a0/g, ' '))
      .join('\n'),
  );
}

/** The message under an open input box: its validation message, else its prompt ('' when there is none). */
export async function inputMessage(page: Page): Promise<string> {
  const message = page.locator('.quick-input-widget .quick-input-message');
  return ((await message.isVisible()) ? await message.innerText() : '').trim();
}
