// The contacts page's list request and how a contact is named in it. Pure
// (no Vue, no fetch) so the unit test needs no browser.
import type { Contact } from './types'

/** One attribute condition of the list: `value` empty means "has any value". */
export interface AttrFilter {
  key: string
  value: string
}

export interface ContactQuery {
  q: string
  filters: AttrFilter[]
  blockedOnly: boolean
  cursor?: string | null
  limit?: number
}

/** The `GET /api/v1/contacts` URL for a query (empty parts left out). */
export function contactsUrl(query: ContactQuery): string {
  const p = new URLSearchParams()
  const q = query.q.trim()
  if (q) p.set('q', q)
  const attrs: Record<string, string | null> = {}
  for (const f of query.filters) {
    const key = f.key.trim()
    if (key) attrs[key] = f.value.trim() === '' ? null : f.value.trim()
  }
  if (Object.keys(attrs).length) p.set('attributes', JSON.stringify(attrs))
  if (query.blockedOnly) p.set('blocked', 'true')
  if (query.cursor) p.set('cursor', query.cursor)
  p.set('limit', String(query.limit ?? 50))
  return `/api/v1/contacts?${p.toString()}`
}

/** A contact's name, else e-mail, else phone, else "Visitor" and a short id. */
export function contactName(c: Pick<Contact, 'id' | 'name' | 'email'> & { phone?: string | null }, visitor: string): string {
  return c.name?.trim() || c.email || c.phone || visitor.replace('{id}', c.id.slice(-6))
}
