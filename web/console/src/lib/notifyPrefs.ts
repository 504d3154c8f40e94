// Whether a visitor's message (or a new conversation) should alert this
// agent, by their notification scope: only conversations assigned to them,
// also unassigned ones in their groups, or all. Mentions and assignments
// always alert (sound and desktop still as the agent chose). Pure.

import type { Conversation, NotifyScope } from './types'

export interface Scope {
  scope: NotifyScope
  me: string
  /** Conversations waiting in the line of a group this agent belongs to. */
  inMyGroups: (conversationId: string) => boolean
}

export function wantsAlert(c: Pick<Conversation, 'id' | 'assignee_id' | 'status'> | undefined, s: Scope): boolean {
  if (!c) return s.scope === 'all'
  if (c.assignee_id === s.me) return true
  switch (s.scope) {
    case 'all':
      return true
    case 'assigned':
      return false
    case 'groups':
      // Nobody's yet: waiting in my group's line, or open to anyone (no line holds it).
      return !c.assignee_id && (c.status === 'queued' ? s.inMyGroups(c.id) : true)
  }
}
