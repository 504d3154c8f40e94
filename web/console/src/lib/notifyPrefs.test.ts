import { describe, expect, it } from 'vitest'
import { wantsAlert, type Scope } from './notifyPrefs'
import type { ConversationStatus } from './types'

const conv = (assignee_id: string | null, status: ConversationStatus = 'open') => ({ id: 'c1', assignee_id, status })
const scope = (s: Scope['scope'], mine = false): Scope => ({ scope: s, me: 'me', inMyGroups: () => mine })

describe('notification scope', () => {
  it('always alerts for my own conversations', () => {
    for (const s of ['assigned', 'groups', 'all'] as const) expect(wantsAlert(conv('me'), scope(s))).toBe(true)
  })
  it('assigned: nothing else', () => {
    expect(wantsAlert(conv(null), scope('assigned'))).toBe(false)
    expect(wantsAlert(conv('other'), scope('assigned'))).toBe(false)
  })
  it('groups: unassigned ones in my lines, and ones no line holds', () => {
    expect(wantsAlert(conv(null, 'queued'), scope('groups', true))).toBe(true)
    expect(wantsAlert(conv(null, 'queued'), scope('groups', false))).toBe(false)
    expect(wantsAlert(conv(null, 'open'), scope('groups'))).toBe(true)
    expect(wantsAlert(conv('other'), scope('groups'))).toBe(false)
  })
  it('all: everything', () => {
    expect(wantsAlert(conv('other'), scope('all'))).toBe(true)
    expect(wantsAlert(undefined, scope('all'))).toBe(true)
    expect(wantsAlert(undefined, scope('groups'))).toBe(false)
  })
})
