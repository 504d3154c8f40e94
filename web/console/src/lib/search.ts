// Full-text search (GET /api/v1/search, docs/search.md): the search page's
// state, kept while the agent opens a result and comes back, and opening a
// conversation at a message (the pure helpers are in searchQuery.ts).

import { reactive } from 'vue'
import { api } from './api'
import { errorText } from './errors'
import { go, route } from './route'
import { loadMessages, state } from './store'
import { mergeBySeq } from './timeline'
import { NO_FILTERS, searchQuery, type SearchFilters, type SearchHit, type SearchType } from './searchQuery'
import type { Message } from './types'

export { NO_FILTERS, markParts, type SearchFilters, type SearchHit, type SearchType } from './searchQuery'

export const search = reactive({
  q: '',
  type: 'messages' as SearchType,
  filters: { ...NO_FILTERS } as SearchFilters,
  hits: [] as SearchHit[],
  cursor: null as string | null,
  loading: false,
  /** The query the results are for (empty: nothing searched yet). */
  done: '',
  error: '',
})

/** The latest search asked for: an answer to an earlier one (typing fast, or a page of a search since replaced) is dropped. */
let latest = 0

/** Runs the search (`more`: the next page of the same one). */
export async function runSearch(more = false) {
  const q = search.q.trim()
  if (!q) return
  const mine = ++latest
  search.loading = true
  search.error = ''
  try {
    const page = await api<{ items: SearchHit[]; next_cursor: string | null }>(
      'GET',
      `/api/v1/search?${searchQuery(q, search.type, search.filters, more ? search.cursor : null)}`,
    )
    if (mine !== latest) return
    search.hits = more ? [...search.hits, ...page.items] : page.items
    search.cursor = page.next_cursor
    search.done = q
  } catch (e) {
    if (mine !== latest) return
    search.error = errorText(e)
    if (!more) search.hits = []
  } finally {
    if (mine === latest) search.loading = false
  }
}

/** Messages read on each side of a message a search result opens the conversation at. */
export const WINDOW = 30

/**
 * Opens conversation `id` at message `seq` (a search result): when the
 * console does not hold that far back, it holds a window around it instead,
 * up to WINDOW messages before and after (`state.hasNewer`: the later ones
 * come a page at a time as the agent scrolls down, not all at once); the
 * pane scrolls to it and highlights it (`state.focusSeq`).
 */
export async function openAt(id: string, seq: number) {
  const held = state.messages[id] ?? []
  if (!held.length || held[0].seq > seq) {
    type Page = { items: Message[]; has_more: boolean }
    const base = `/api/v1/conversations/${id}/messages`
    const [before, after] = await Promise.all([
      api<Page>('GET', `${base}?before_seq=${seq + 1}&limit=${WINDOW}`),
      api<Page>('GET', `${base}?after_seq=${seq}&limit=${WINDOW}`),
    ])
    state.messages[id] = mergeBySeq(before.items, after.items)
    state.hasOlder[id] = before.has_more
    state.hasNewer[id] = after.has_more
  }
  state.focusSeq[id] = seq
  if (route.value.section === 'inbox' && state.selected === id) await loadMessages(id)
  else go('#/inbox/' + encodeURIComponent(id))
}
