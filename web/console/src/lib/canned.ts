// Canned replies in the composer: a `/shortcut` typed anywhere (at the
// start or after a space), and the variables a reply's text may hold
// (`{{contact.name}}`, `{{agent.name}}`, …), filled from the conversation.
// Pure, so it is unit-tested.

/** The `/shortcut` being typed just before the caret: where it starts and the query, or null. */
export function shortcutAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret)
  const m = /(^|\s)\/([\p{L}\p{N}_-]{0,32})$/u.exec(before)
  if (!m) return null
  return { start: before.length - m[2].length - 1, query: m[2].toLowerCase() }
}

/** Puts `reply` in place of the shortcut at `start..caret`; the new text and caret. */
export function insertAt(text: string, start: number, caret: number, reply: string): { text: string; caret: number } {
  const out = text.slice(0, start) + reply + text.slice(caret)
  return { text: out, caret: start + reply.length }
}

/** What the variables of canned replies stand for. */
export interface Vars {
  contact: { name: string; email: string; phone: string }
  agent: { name: string; email: string }
  conversation: { id: string }
}

/** The variables a reply may use, as the help text lists them. */
export const VARIABLES = ['contact.name', 'contact.email', 'contact.phone', 'agent.name', 'agent.email', 'conversation.id']

/**
 * Fills `{{ variable }}` with its value; an unknown variable stays as
 * typed (so a typo shows rather than vanishing), a known one without a
 * value becomes `fallback` (e.g. "there" in "Hi {{contact.name}}").
 */
export function fillVariables(text: string, vars: Vars, fallback: Partial<Record<string, string>> = {}): string {
  return text.replace(/\{\{\s*([a-z]+)\.([a-z_]+)\s*\}\}/g, (whole, group: string, field: string) => {
    const g = (vars as unknown as Record<string, Record<string, string> | undefined>)[group]
    if (!g || !(field in g)) return whole
    return g[field] || fallback[`${group}.${field}`] || ''
  })
}

/**
 * The replies the composer offers an agent: their personal ones, and the
 * shared ones whose shortcut none of theirs uses (a personal reply shadows
 * a shared one of the same shortcut), in the given order.
 */
export function composerReplies<T extends { shortcut: string; personal?: boolean }>(all: readonly T[]): T[] {
  const mine = new Set(all.filter((c) => c.personal).map((c) => c.shortcut))
  return all.filter((c) => c.personal || !mine.has(c.shortcut))
}
