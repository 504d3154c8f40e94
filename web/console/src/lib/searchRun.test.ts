// The search page's requests: an answer older than the latest search is
// dropped, and a result opens its conversation at a window of messages
// around the one found (not every later message). The REST client, the
// socket and the router are fakes (no browser, no server).
import { beforeEach, describe, expect, it, vi } from 'vitest'
import type { Message } from './types'

/** A request the fake `api` holds until the test answers it. */
interface Call {
  path: string
  resolve: (v: unknown) => void
}
const calls: Call[] = []
const went: string[] = []

vi.mock('./api', () => ({
  api: (_method: string, path: string) => new Promise((resolve) => calls.push({ path, resolve })),
  logout: async () => undefined,
  refresh: async () => true,
  accessToken: async () => 'token',
  session: { user: { id: 'u-me' } },
  ApiError: class extends Error {},
}))
vi.mock('./realtime', () => ({
  Realtime: class {
    start() {}
    stop() {}
    send() {}
  },
}))
vi.mock('./notify', () => ({ notify: () => undefined }))
// i18n.ts (behind errors.ts, which words a failed search) reads the saved language when loaded.
vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => undefined })
vi.stubGlobal('navigator', { language: 'en' })
vi.mock('./route', async () => {
  const { ref } = await import('vue')
  return { route: ref({ section: 'search', id: null }), go: (h: string) => went.push(h) }
})

const { runSearch, search, openAt, WINDOW } = await import('./search')
const { state, loadMessages, loadNewer } = await import('./store')

const tick = () => new Promise((r) => setTimeout(r, 0))
const hit = (text: string) => ({ snippet: text, message: null, conversation: null, contact: null, contact_name: null, contact_email: null })
const msg = (seq: number) => ({ id: `m${seq}`, conversation_id: 'c1', seq, content: `#${seq}` }) as unknown as Message
const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => msg(a + i))

beforeEach(() => {
  calls.length = 0
  went.length = 0
})

describe('runSearch', () => {
  it('keeps the answer of the latest search when an earlier one answers last', async () => {
    search.q = '退'
    const first = runSearch()
    search.q = '退款'
    const second = runSearch()
    expect(calls.map((c) => new URLSearchParams(c.path.split('?')[1]).get('q'))).toEqual(['退', '退款'])
    calls[1].resolve({ items: [hit('退款 newer')], next_cursor: null })
    await second
    calls[0].resolve({ items: [hit('退 older')], next_cursor: 'x' })
    await first
    expect(search.hits.map((h) => h.snippet)).toEqual(['退款 newer'])
    expect(search.done).toBe('退款')
    expect(search.cursor).toBeNull()
    expect(search.loading).toBe(false)
  })

  it('drops a next page that answers after a new search', async () => {
    search.q = 'refund'
    const more = runSearch(true)
    search.q = 'refunds'
    const fresh = runSearch()
    calls[0].resolve({ items: [hit('page 2 of refund')], next_cursor: null })
    await more
    expect(search.loading).toBe(true)
    calls[1].resolve({ items: [hit('refunds')], next_cursor: null })
    await fresh
    expect(search.hits.map((h) => h.snippet)).toEqual(['refunds'])
  })
})

describe('openAt', () => {
  it('reads a window around the message, and later ones a page at a time', async () => {
    state.messages.c1 = []
    const opened = openAt('c1', 500)
    await tick()
    expect(calls.map((c) => c.path)).toEqual([
      `/api/v1/conversations/c1/messages?before_seq=501&limit=${WINDOW}`,
      `/api/v1/conversations/c1/messages?after_seq=500&limit=${WINDOW}`,
    ])
    calls[0].resolve({ items: range(471, 500), has_more: true })
    calls[1].resolve({ items: range(501, 530), has_more: true })
    await opened
    expect(went).toEqual(['#/inbox/c1'])
    expect(state.messages.c1.map((m) => m.seq)).toEqual(range(471, 530).map((m) => m.seq))
    expect(state.focusSeq.c1).toBe(500)
    expect(state.hasNewer.c1).toBe(true)

    // Opening the conversation reads nothing after the window…
    calls.length = 0
    await loadMessages('c1')
    expect(calls).toEqual([])
    // …scrolling to its bottom reads one page.
    const next = loadNewer('c1')
    expect(calls.map((c) => c.path)).toEqual(['/api/v1/conversations/c1/messages?after_seq=530&limit=50'])
    calls[0].resolve({ items: range(531, 540), has_more: false })
    await next
    expect(state.hasNewer.c1).toBe(false)
    expect(state.messages.c1.at(-1)?.seq).toBe(540)
  })
})
