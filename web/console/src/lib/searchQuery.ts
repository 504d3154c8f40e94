// Full-text search's pure helpers (no browser, no store): the request's query
// string and the snippet's pieces. search.ts holds the page's state.

import type { Contact, Conversation, Message } from './types'

export type SearchType = 'messages' | 'conversations' | 'contacts'

export interface SearchHit {
  /** HTML-escaped text with `<mark>` around matches (see `markParts`). */
  snippet: string
  message: Message | null
  conversation: Conversation | null
  contact: Contact | null
  contact_name: string | null
  contact_email: string | null
}

export interface SearchFilters {
  status: string
  inbox: string
  agent: string
  label: string
  /** `YYYY-MM-DD` in the agent's time zone, or empty. */
  from: string
  to: string
}

export const NO_FILTERS: SearchFilters = { status: '', inbox: '', agent: '', label: '', from: '', to: '' }

/** The request's query string for `q`, the type, the filters and a cursor. */
export function searchQuery(q: string, type: SearchType, f: SearchFilters, cursor: string | null): string {
  const p = new URLSearchParams({ q, type, limit: '20' })
  if (f.status) p.set('status', f.status)
  if (f.inbox) p.set('inbox', f.inbox)
  if (f.agent) p.set('agent', f.agent)
  if (f.label.trim()) p.set('label', f.label.trim())
  // Dates are the agent's days: from the start of `from` to the end of `to`.
  if (f.from) p.set('from', String(new Date(`${f.from}T00:00:00`).getTime()))
  if (f.to) p.set('to', String(new Date(`${f.to}T00:00:00`).getTime() + 86_400_000))
  if (cursor) p.set('cursor', cursor)
  return p.toString()
}

const ENTITIES: Record<string, string> = { '&amp;': '&', '&lt;': '<', '&gt;': '>', '&quot;': '"', '&#39;': "'" }

/**
 * A snippet as pieces of plain text, `hit` for the marked ones: rendered as
 * text nodes (never as HTML), so nothing in a message can become markup.
 */
export function markParts(snippet: string): { text: string; hit: boolean }[] {
  const out: { text: string; hit: boolean }[] = []
  let hit = false
  for (const piece of snippet.split(/(<mark>|<\/mark>)/)) {
    if (piece === '<mark>') hit = true
    else if (piece === '</mark>') hit = false
    else if (piece) out.push({ text: piece.replace(/&(amp|lt|gt|quot|#39);/g, (m) => ENTITIES[m]), hit })
  }
  return out
}
