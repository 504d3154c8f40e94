// @mentions in private notes: the `@query` being typed (to complete it to a
// colleague's name), the colleagues it matches, and a note's text split
// into mentions and the rest (to show mentions highlighted). The server
// finds mentions in the same text (kefu-core `mention.rs`): `@` not glued
// to a Latin word, then a display name, the longest one winning. Pure.

/** The `@query` just before the caret: where the `@` is and the query, or null. */
export function mentionAt(text: string, caret: number): { start: number; query: string } | null {
  const before = text.slice(0, caret)
  const m = /(^|[^A-Za-z0-9_])@([^\s@]{0,32})$/u.exec(before)
  if (!m) return null
  return { start: before.length - m[2].length - 1, query: m[2].toLowerCase() }
}

export interface Person {
  id: string
  name: string
}

/** Colleagues whose name starts with (then contains) the query; at most `max`. */
export function matchPeople<T extends Person>(people: T[], query: string, max = 8): T[] {
  const q = query.toLowerCase()
  const starts = people.filter((p) => p.name.toLowerCase().startsWith(q))
  const contains = people.filter((p) => !starts.includes(p) && p.name.toLowerCase().includes(q))
  return [...starts, ...contains].slice(0, max)
}

/** A note's text in parts; `mention` holds the mentioned person's id. */
export function mentionParts(text: string, people: Person[]): { text: string; mention?: string }[] {
  const named = people.filter((p) => p.name.trim()).sort((a, b) => b.name.length - a.name.length)
  const out: { text: string; mention?: string }[] = []
  let plain = ''
  let i = 0
  while (i < text.length) {
    const prev = i > 0 ? text[i - 1] : ''
    if (text[i] === '@' && !/[A-Za-z0-9_]/.test(prev)) {
      const rest = text.slice(i + 1)
      const hit = named.find((p) => {
        const n = p.name.trim()
        if (rest.slice(0, n.length).toLowerCase() !== n.toLowerCase()) return false
        const next = rest.charAt(n.length)
        return !(/[A-Za-z0-9_]$/.test(n) && /[A-Za-z0-9_]/.test(next))
      })
      if (hit) {
        const n = hit.name.trim().length
        if (plain) out.push({ text: plain })
        plain = ''
        out.push({ text: text.slice(i, i + 1 + n), mention: hit.id })
        i += 1 + n
        continue
      }
    }
    plain += text[i]
    i++
  }
  if (plain) out.push({ text: plain })
  return out
}
