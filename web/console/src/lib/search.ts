// Full-text search (GET /api/v1/search, docs/search.md): the search page's
// state, kept while the agent opens a result and comes back, and opening a
// conversation at a message (the pure helpers are in searchQuery.ts).

import { reactive } from 'vue'
import { api } from './api'
import { errorText } from './errors'
import { go, route } from './route'
import { loadMessages, state } from './store'
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

/** Runs the search (`more`: the next page of the same one). */
export async function runSearch(more = false) {
  const q = search.q.trim()
  if (!q) return
  search.loading = true
  search.error = ''
  try {
    const page = await api<{ items: SearchHit[]; next_cursor: string | null }>(
      'GET',
      `/api/v1/search?${searchQuery(q, search.type, search.filters, more ? search.cursor : null)}`,
    )
    search.hits = more ? [...search.hits, ...page.items] : page.items
    search.cursor = page.next_cursor
    search.done = q
  } catch (e) {
    search.error = errorText(e)
    if (!more) search.hits = []
  } finally {
    search.loading = false
  }
}

/**
 * Opens conversation `id` at message `seq` (a search result): when the
 * console does not hold that far back, it holds the messages up to it
 * instead (the rest follow when the conversation opens); the pane scrolls
 * to it and highlights it (`state.focusSeq`).
 */
export async function openAt(id: string, seq: number) {
  const held = state.messages[id] ?? []
  if (!held.length || held[0].seq > seq) {
    const page = await api<{ items: Message[]; has_more: boolean }>('GET', `/api/v1/conversations/${id}/messages?before_seq=${seq + 1}&limit=30`)
    state.messages[id] = page.items
    state.hasOlder[id] = page.has_more
  }
  state.focusSeq[id] = seq
  if (route.value.section === 'inbox' && state.selected === id) await loadMessages(id)
  else go('#/inbox/' + encodeURIComponent(id))
}
