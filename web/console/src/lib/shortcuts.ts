// The console's keyboard shortcuts: one registry that both the key handling
// (keyBindings.ts) and the `?` overlay read, so the overlay cannot list a key
// that does nothing or miss one that does. Pure (no DOM, no Vue): the
// matching rules are unit-tested here, the handlers live with the components.

/** Where a key press happened, as far as shortcuts care. */
export type Where =
  /** Nothing that takes text has focus (the page, a button, a link). */
  | 'page'
  /** The reply/note box (marked `data-shortcuts="composer"`). */
  | 'composer'
  /** Any other text field (search, tag input, select, contenteditable). */
  | 'field'
  /** Inside an open modal dialog (the command bar, the shortcut list). */
  | 'dialog'

/** Where a combination acts. */
export type Scope = 'page' | 'composer' | 'pageOrComposer' | 'anywhere'

/** One key combination. `mod` is Ctrl, or ⌘ on Apple systems. */
export interface Combo {
  key: string
  mod?: boolean
  shift?: boolean
  alt?: boolean
  /** Overrides the shortcut's scope for this combination. */
  scope?: Scope
}

export type Section = 'navigate' | 'conversation' | 'composer' | 'commandBar' | 'general'

export interface Shortcut {
  id: string
  section: Section
  keys: Combo[]
  scope: Scope
  /** Held keys repeat the action (moving through the list); others act once per press. */
  repeat?: boolean
  /**
   * Handled by the element that has focus (the composer's Enter, the
   * suggestion list's arrows, the command bar's own keys), listed here so
   * the overlay shows every key; the global dispatcher leaves them alone.
   */
  local?: boolean
}

export const SHORTCUTS = [
  { id: 'next', section: 'navigate', scope: 'page', repeat: true, keys: [{ key: 'j' }, { key: 'ArrowDown', alt: true, scope: 'pageOrComposer' }] },
  { id: 'previous', section: 'navigate', scope: 'page', repeat: true, keys: [{ key: 'k' }, { key: 'ArrowUp', alt: true, scope: 'pageOrComposer' }] },
  { id: 'commandBar', section: 'navigate', scope: 'anywhere', keys: [{ key: 'k', mod: true }] },
  { id: 'search', section: 'navigate', scope: 'page', keys: [{ key: 's' }] },
  { id: 'resolve', section: 'conversation', scope: 'page', keys: [{ key: 'e' }] },
  { id: 'snooze', section: 'conversation', scope: 'page', keys: [{ key: 'z' }] },
  // No key of its own (Z opens the menu that has it): a command of the command bar.
  { id: 'snoozeHour', section: 'conversation', scope: 'page', keys: [] },
  { id: 'pending', section: 'conversation', scope: 'page', keys: [{ key: 'p' }] },
  { id: 'assignMe', section: 'conversation', scope: 'page', keys: [{ key: 'i' }] },
  { id: 'focusComposer', section: 'composer', scope: 'page', keys: [{ key: 'r' }] },
  { id: 'noteMode', section: 'composer', scope: 'page', keys: [{ key: 'n' }] },
  { id: 'canned', section: 'composer', scope: 'page', keys: [{ key: '/' }] },
  // Chrome and Safari keep Ctrl/⌘+Shift+N (a private window) for themselves
  // on some systems; Alt+N is the combination every browser passes on.
  { id: 'toggleMode', section: 'composer', scope: 'composer', keys: [{ key: 'n', mod: true, shift: true }, { key: 'n', alt: true }] },
  { id: 'send', section: 'composer', scope: 'composer', local: true, keys: [{ key: 'Enter' }] },
  { id: 'newLine', section: 'composer', scope: 'composer', local: true, keys: [{ key: 'Enter', shift: true }] },
  { id: 'pickCanned', section: 'composer', scope: 'composer', local: true, keys: [{ key: 'ArrowUp' }, { key: 'ArrowDown' }, { key: 'Tab' }] },
  { id: 'leaveComposer', section: 'composer', scope: 'composer', keys: [{ key: 'Escape' }] },
  { id: 'barMove', section: 'commandBar', scope: 'anywhere', local: true, keys: [{ key: 'ArrowUp' }, { key: 'ArrowDown' }] },
  { id: 'barRun', section: 'commandBar', scope: 'anywhere', local: true, keys: [{ key: 'Enter' }] },
  { id: 'barClose', section: 'commandBar', scope: 'anywhere', local: true, keys: [{ key: 'Escape' }] },
  { id: 'help', section: 'general', scope: 'page', keys: [{ key: '?' }] },
  { id: 'closeMenu', section: 'general', scope: 'page', keys: [{ key: 'Escape' }] },
] as const satisfies readonly Shortcut[]

export type ShortcutId = (typeof SHORTCUTS)[number]['id']
export const SECTIONS: readonly Section[] = ['navigate', 'conversation', 'composer', 'commandBar', 'general']

/** What a shortcut needs to know about a key press (a KeyboardEvent has all of it). */
export interface KeyPress {
  key: string
  code?: string
  ctrlKey: boolean
  metaKey: boolean
  altKey: boolean
  shiftKey: boolean
  isComposing?: boolean
  keyCode?: number
  repeat?: boolean
}

/** Apple systems use ⌘ where others use Ctrl. */
export function isMac(platform: string): boolean {
  return /mac|iphone|ipad|ipod/i.test(platform)
}

const LETTER = /^[a-z]$/i

/**
 * Whether `e` is `c`. Letters compare without case; a letter also matches by
 * its physical key when the layout or a held Alt/Option turned it into
 * another character (Cyrillic, "˜", a dead key). Characters typed with Shift
 * on most layouts ("?", "/") ignore Shift, which differs between layouts.
 */
export function matches(e: KeyPress, c: Combo, mac: boolean): boolean {
  const ctrl = mac ? e.metaKey : e.ctrlKey
  const other = mac ? e.ctrlKey : e.metaKey
  if (ctrl !== !!c.mod || other || e.altKey !== !!c.alt) return false
  const letter = LETTER.test(c.key)
  const symbol = c.key.length === 1 && !letter
  if (!symbol && e.shiftKey !== !!c.shift) return false
  if (e.key === c.key || (letter && e.key.toLowerCase() === c.key)) return true
  return letter && !LETTER.test(e.key) && e.code === `Key${c.key.toUpperCase()}`
}

/** A key press in the middle of an input method's composition (pinyin and the like): never a shortcut. */
export function composing(e: KeyPress): boolean {
  return !!e.isComposing || e.key === 'Process' || e.keyCode === 229
}

function inScope(scope: Scope, where: Where): boolean {
  switch (scope) {
    case 'anywhere':
      return true
    case 'pageOrComposer':
      return where === 'page' || where === 'composer'
    default:
      return where === scope
  }
}

export type Registered = (typeof SHORTCUTS)[number]

/** The shortcuts a key press asks for, in registry order (the dispatcher runs the first that applies). */
export function shortcutsFor(e: KeyPress, where: Where, mac: boolean): Registered[] {
  if (composing(e)) return []
  return SHORTCUTS.filter((r) => {
    const s: Shortcut = r
    return !s.local && (!e.repeat || s.repeat) && s.keys.some((c) => inScope(c.scope ?? s.scope, where) && matches(e, c, mac))
  })
}

/** The parts of an element `where` looks at (a DOM Element has them). */
export interface ElementLike {
  tagName: string
  isContentEditable?: boolean
  getAttribute(name: string): string | null
  closest(selector: string): unknown
}

/** Inputs that do not take text: keys pressed there are shortcuts. */
const NOT_TEXT = new Set(['button', 'checkbox', 'color', 'file', 'image', 'radio', 'range', 'reset', 'submit'])

/** Whether typing into `el` writes text (so letters there are not shortcuts). */
export function takesText(el: ElementLike): boolean {
  if (el.isContentEditable) return true
  const tag = el.tagName.toUpperCase()
  if (tag === 'TEXTAREA' || tag === 'SELECT') return true
  return tag === 'INPUT' && !NOT_TEXT.has((el.getAttribute('type') ?? 'text').toLowerCase())
}

/** Where a key press aimed at `el` (the event's target) happened. */
export function whereIs(el: ElementLike | null): Where {
  if (!el || typeof el.closest !== 'function') return 'page'
  if (el.closest('[aria-modal="true"]')) return 'dialog'
  if (!takesText(el)) return 'page'
  return el.getAttribute('data-shortcuts') === 'composer' ? 'composer' : 'field'
}

const NAMES: Record<string, string> = { ArrowDown: '↓', ArrowUp: '↑', ArrowLeft: '←', ArrowRight: '→', Escape: 'Esc' }
const MAC_NAMES: Record<string, string> = { Enter: '↩', Tab: '⇥' }

/** A combination as the keyboard shows it: "Ctrl+Shift+N", or "⌘⇧N" on Apple systems. */
export function comboLabel(c: Combo, mac: boolean): string {
  const key = (mac && MAC_NAMES[c.key]) || NAMES[c.key] || (c.key.length === 1 ? c.key.toUpperCase() : c.key)
  if (mac) return `${c.mod ? '⌘' : ''}${c.alt ? '⌥' : ''}${c.shift ? '⇧' : ''}${key}`
  return [c.mod && 'Ctrl', c.alt && 'Alt', c.shift && 'Shift', key].filter(Boolean).join('+')
}

/** The id `delta` places from `current` in `ids` (the first or last when nothing is current), or null at an end. */
export function step(ids: readonly string[], current: string | null, delta: 1 | -1): string | null {
  if (!ids.length) return null
  const i = current === null ? -1 : ids.indexOf(current)
  if (i < 0) return delta > 0 ? ids[0] : ids[ids.length - 1]
  return ids[i + delta] ?? null
}
