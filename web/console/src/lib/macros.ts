// Macros in the console: the action-list editor's building blocks and the
// words that describe a macro before it runs. Pure, so it is unit-tested;
// the server checks every macro again when it is saved.
import type { MacroAction, MacroActionType } from './types'

/** The server's limit (kefu_core::macros::MAX_ACTIONS). */
export const MAX_ACTIONS = 20

/** The action types, in the order the editor offers them. */
export const ACTION_TYPES: readonly MacroActionType[] = ['reply', 'note', 'add_label', 'remove_label', 'assign', 'unassign', 'set_priority', 'status', 'snooze']

/** A new action of `type` with sensible defaults (the editor's "Add"). */
export function blankAction(type: MacroActionType): MacroAction {
  switch (type) {
    case 'reply':
    case 'note':
      return { type, content: '' }
    case 'add_label':
    case 'remove_label':
      return { type, label: '' }
    case 'assign':
      return { type, to: 'me' }
    case 'unassign':
      return { type }
    case 'set_priority':
      return { type, priority: 'high' }
    case 'status':
      return { type, status: 'resolved' }
    case 'snooze':
      return { type, for_secs: 3600 }
  }
}

/** `list` with item `i` moved one place up (-1) or down (+1); unchanged at the ends. */
export function moved<T>(list: readonly T[], i: number, by: -1 | 1): T[] {
  const j = i + by
  const out = [...list]
  if (i < 0 || i >= out.length || j < 0 || j >= out.length) return out
  ;[out[i], out[j]] = [out[j], out[i]]
  return out
}

/** The words `describe` needs, in the console's language. */
export interface DescribeWords {
  describe: Record<MacroActionType, string>
  me: string
  group: string
  priorities: Record<string, string>
  statuses: Record<string, string>
}

function fillIn(s: string, vars: Record<string, string | number>): string {
  return s.replace(/\{(\w+)\}/g, (m, k: string) => (k in vars ? String(vars[k]) : m))
}

/** Longest excerpt of a reply's text in a description. */
const EXCERPT = 60

/** One line saying what an action does (the confirmation before a run lists them). */
export function describe(a: MacroAction, w: DescribeWords, agentName: (id: string) => string): string {
  const d = w.describe[a.type]
  switch (a.type) {
    case 'reply':
    case 'note': {
      const text = [...a.content].length > EXCERPT ? [...a.content].slice(0, EXCERPT).join('') + '…' : a.content
      return fillIn(d, { text })
    }
    case 'add_label':
    case 'remove_label':
      return fillIn(d, { label: a.label })
    case 'assign': {
      const to = a.to === 'me' ? w.me : a.to.startsWith('group:') ? fillIn(w.group, { name: a.to.slice(6) }) : agentName(a.to)
      return fillIn(d, { to })
    }
    case 'set_priority':
      return fillIn(d, { priority: w.priorities[a.priority] ?? a.priority })
    case 'status':
      return fillIn(d, { status: w.statuses[a.status] ?? a.status })
    case 'snooze':
      return fillIn(d, { hours: +(a.for_secs / 3600).toFixed(2) })
    case 'unassign':
      return d
  }
}

/** What the editor can tell before saving: the index of the first incomplete action, or -1. */
export function firstIncomplete(actions: readonly MacroAction[]): number {
  return actions.findIndex((a) => {
    if (a.type === 'reply' || a.type === 'note') return !a.content.trim()
    if (a.type === 'add_label' || a.type === 'remove_label') return !a.label.trim()
    if (a.type === 'assign') return !a.to.trim() || a.to.trim() === 'group:'
    if (a.type === 'snooze') return !(a.for_secs >= 60)
    return false
  })
}
