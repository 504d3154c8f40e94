// Every list endpoint answers one shape, `{items, next_cursor}`; this reads
// a whole list by following `next_cursor` until it is null. Lists that come
// whole (groups, queues) take one request.

import { api } from './api'
import type { Page } from './types'

/** Every item of the list at `path` (which may carry its own query, e.g. `?limit=200`). */
export async function listAll<T>(path: string): Promise<T[]> {
  const items: T[] = []
  let cursor: string | null = null
  do {
    const sep = path.includes('?') ? '&' : '?'
    const url: string = cursor === null ? path : `${path}${sep}cursor=${encodeURIComponent(cursor)}`
    const page: Page<T> = await api<Page<T>>('GET', url)
    items.push(...page.items)
    cursor = page.next_cursor
  } while (cursor !== null)
  return items
}
