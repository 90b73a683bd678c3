import { ThemeColor, ThemeIcon } from 'vscode';
import type { Health } from '../../../protocol/lsp';

/** Theme colours, not fixed ones, so health reads right in every theme. */
const COLORS: Record<Health, string | undefined> = {
  error: 'problemsErrorIcon.foreground',
  warning: 'list.warningForeground',
  ok: 'testing.iconPassed',
  stale: 'disabledForeground',
  none: undefined,
};

/** The codicon used when the server names none. */
const HEALTH_ICONS: Record<Health, string | undefined> = {
  error: 'error',
  warning: 'warning',
  ok: 'pass',
  stale: 'circle-slash',
  none: undefined,
};

export function healthIcon(health: Health, icon: string | undefined, fallback: string): ThemeIcon {
  const color = COLORS[health];
  return new ThemeIcon(icon ?? HEALTH_ICONS[health] ?? fallback, color ? new ThemeColor(color) : undefined);
}
