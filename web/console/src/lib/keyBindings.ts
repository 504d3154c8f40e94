// The shortcuts at run time: one keydown listener on the window asks the
// registry (shortcuts.ts) which shortcut a press means, and runs the handler
// the component showing the thing registered for it. A component registers
// while it is mounted, so a key acts only when its target is on screen; the
// command bar runs the same handlers, so a key and its command cannot differ.

import { onBeforeUnmount, onMounted, ref } from 'vue'
import { isMac, shortcutsFor, whereIs, type ElementLike, type ShortcutId } from './shortcuts'

export interface Handler {
  /** Whether it applies now (e.g. "assign to me" on a conversation already mine): if not, the key does nothing. */
  can?: () => boolean
  run: () => void
}

/** Handlers per shortcut, the latest registered first in line. */
const handlers = new Map<ShortcutId, Handler[]>()

/** The open overlay: the command bar or the shortcut list (one at a time). */
export const overlay = ref<null | 'bar' | 'help'>(null)

export const mac = typeof navigator !== 'undefined' && isMac((navigator as { userAgentData?: { platform?: string } }).userAgentData?.platform || navigator.platform || '')

export function bind(id: ShortcutId, h: Handler): () => void {
  const list = handlers.get(id) ?? []
  list.push(h)
  handlers.set(id, list)
  return () => {
    const i = list.indexOf(h)
    if (i >= 0) list.splice(i, 1)
  }
}

/** Binds a handler for as long as the calling component is mounted. */
export function useShortcut(id: ShortcutId, h: Handler) {
  let unbind = () => {}
  onMounted(() => (unbind = bind(id, h)))
  onBeforeUnmount(() => unbind())
}

function handlerFor(id: ShortcutId): Handler | undefined {
  const list = handlers.get(id) ?? []
  for (let i = list.length - 1; i >= 0; i--) if (list[i].can?.() ?? true) return list[i]
  return undefined
}

/** Whether a shortcut would do something now (the command bar lists only those). */
export function available(id: ShortcutId): boolean {
  return !!handlerFor(id)
}

/** Runs a shortcut's handler; false when nothing applies. */
export function run(id: ShortcutId): boolean {
  const h = handlerFor(id)
  h?.run()
  return !!h
}

function onKeydown(e: KeyboardEvent) {
  if (e.defaultPrevented) return
  const where = whereIs(e.target instanceof Element ? (e.target as unknown as ElementLike) : null)
  for (const s of shortcutsFor(e, where, mac)) {
    if (run(s.id)) {
      e.preventDefault()
      return
    }
  }
}

/** Starts listening (once, for the console's lifetime); returns the way to stop. */
export function installKeys(): () => void {
  window.addEventListener('keydown', onKeydown)
  return () => window.removeEventListener('keydown', onKeydown)
}

/** Remembers the focused element and gives it focus back (dialogs restore focus when they close). */
export function focusKeeper() {
  let before: HTMLElement | null = null
  return {
    save: () => (before = document.activeElement instanceof HTMLElement ? document.activeElement : null),
    restore: () => {
      if (before?.isConnected) before.focus()
      before = null
    },
    forget: () => (before = null),
  }
}
