// When the widget asks for a rating (CSAT), free of DOM so it can be unit
// tested: after the newest conversation is resolved, when the inbox asks,
// until the visitor has rated that resolve.
import type { ConversationHead, WidgetSettings } from './types'
import type { Lang } from './i18n'

/** Statuses a rated resolve can be in. */
const DONE = ['resolved', 'closed']

/** Which conversation to ask about now, and the inbox's question (empty: ours). */
export function csatAsk(
  w: WidgetSettings | undefined,
  heads: readonly ConversationHead[],
  rated: (conversation: string) => boolean,
  lang: Lang,
): { conversation: string; question: string } | null {
  const c = w?.csat
  const newest = heads[0]
  if (!c?.enabled || !newest || !DONE.includes(newest.status) || rated(newest.id)) return null
  return { conversation: newest.id, question: (lang === 'en' ? c.question_en : c.question_zh).trim() }
}

/** Whether a rated mark is stale: the conversation is active again (reopened), so its next resolve is asked anew. */
export function csatReset(heads: readonly ConversationHead[], conversation: string): boolean {
  const h = heads.find((x) => x.id === conversation)
  return !!h && !DONE.includes(h.status)
}
