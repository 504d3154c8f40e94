// Pure logic of a conversation's labels: priority and tags, with the same
// limits the server applies (PATCH /api/v1/conversations/{id}). No I/O; unit-tested.

import type { Priority } from './types'

/** Lowest to highest. */
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'urgent']
export const MAX_TAGS = 20
export const MAX_TAG_CHARS = 32

export function isPriority(p: unknown): p is Priority {
  return typeof p === 'string' && (PRIORITIES as readonly string[]).includes(p)
}

/** 0 (low) to 3 (urgent); anything unknown counts as normal. */
export function priorityRank(p: string | undefined | null): number {
  const i = PRIORITIES.indexOf(p as Priority)
  return i < 0 ? 1 : i
}

export type TagProblem = 'length' | 'tooMany'

/**
 * Adds what the agent typed to `tags`, cleaned as the server cleans it:
 * trimmed, empty and repeated tags dropped. Commas (, or ，) separate several
 * tags typed at once. Returns the new set (the same array when nothing
 * changes), or the first problem.
 */
export function addTags(tags: readonly string[], input: string): { tags: string[] } | { problem: TagProblem } {
  const out = [...tags]
  for (const raw of input.split(/[,，]/)) {
    const tag = raw.trim()
    if (!tag || out.includes(tag)) continue
    // The server counts characters (code points), not UTF-16 units.
    if ([...tag].length > MAX_TAG_CHARS || /[\u0000-\u001f\u007f-\u009f]/.test(tag)) return { problem: 'length' }
    out.push(tag)
  }
  if (out.length > MAX_TAGS) return { problem: 'tooMany' }
  return { tags: out.length === tags.length ? (tags as string[]) : out }
}

/**
 * The tags typed in `input`, cleaned as {@link addTags} cleans them (split at
 * commas, trimmed, empty and repeated ones dropped): what to send as `add_tags`.
 */
export function typedTags(input: string): string[] {
  const out: string[] = []
  for (const raw of input.split(/[,，]/)) {
    const tag = raw.trim()
    if (tag && !out.includes(tag)) out.push(tag)
  }
  return out
}

export function removeTag(tags: readonly string[], tag: string): string[] {
  return tags.filter((t) => t !== tag)
}

/** What changed between two tag sets, in the order of each set. */
export function tagChanges(from: readonly string[], to: readonly string[]): { added: string[]; removed: string[] } {
  return { added: to.filter((t) => !from.includes(t)), removed: from.filter((t) => !to.includes(t)) }
}

/** Every tag in use among `sets`, most used first (ties alphabetically): suggestions for the tag input. */
export function knownTags(sets: Iterable<readonly string[] | undefined>): string[] {
  const count = new Map<string, number>()
  for (const s of sets) for (const t of s ?? []) count.set(t, (count.get(t) ?? 0) + 1)
  return [...count.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([t]) => t)
}
