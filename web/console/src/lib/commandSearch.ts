// How the command bar ranks what it can offer (actions, conversations,
// contacts) against what the agent typed. Pure, so it is unit-tested.

export interface Candidate {
  /** What the row shows first (a contact's name, an action's name). */
  label: string
  /** More text that matches (an e-mail, the last message's excerpt). */
  detail?: string
}

const norm = (s: string) => s.normalize('NFKC').toLowerCase()

/**
 * How well `c` matches: each word typed must occur in the label or the
 * detail; a word opening the label counts most, one opening a word of the
 * label next, one inside the label less, one only in the detail least.
 * 0: no match. An empty query matches everything a little.
 */
export function score(c: Candidate, query: string): number {
  const words = norm(query).split(/\s+/).filter(Boolean)
  if (!words.length) return 1
  const label = norm(c.label)
  const detail = norm(c.detail ?? '')
  let total = 0
  for (const w of words) {
    const i = label.indexOf(w)
    if (i === 0) total += 8
    else if (i > 0 && /[\s@.\-_:：]/.test(label[i - 1])) total += 6
    else if (i > 0) total += 4
    else if (detail.includes(w)) total += 1
    else return 0
  }
  return total
}

/** The best `limit` matches, the better first; equal scores keep the given order. */
export function search<T extends Candidate>(items: readonly T[], query: string, limit: number): T[] {
  return items
    .map((item, i) => ({ item, i, s: score(item, query) }))
    .filter((x) => x.s > 0)
    .sort((a, b) => b.s - a.s || a.i - b.i)
    .slice(0, limit)
    .map((x) => x.item)
}
