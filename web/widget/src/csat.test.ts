import { describe, expect, it } from 'vitest'
import { csatAsk, csatReset } from './csat'
import type { WidgetSettings } from './types'

const w = (enabled: boolean): WidgetSettings => ({
  color: '#000000',
  position: 'right',
  prechat: { enabled: false, fields: [] },
  offline: 'form',
  csat: { enabled, question_zh: ' 满意吗？ ', question_en: '' },
})
const head = (id: string, status: string) => ({ id, status, last_seq: 1 })

describe('csat', () => {
  it('asks about the newest conversation once it is resolved, in the inbox words', () => {
    const none = () => false
    expect(csatAsk(w(true), [head('b', 'resolved'), head('a', 'open')], none, 'zh-CN')).toEqual({ conversation: 'b', question: '满意吗？' })
    expect(csatAsk(w(true), [head('b', 'resolved')], none, 'en')).toEqual({ conversation: 'b', question: '' })
    expect(csatAsk(w(true), [head('b', 'open'), head('a', 'resolved')], none, 'en')).toBeNull()
    expect(csatAsk(w(false), [head('b', 'resolved')], none, 'en')).toBeNull()
    expect(csatAsk(undefined, [head('b', 'resolved')], none, 'en')).toBeNull()
    expect(csatAsk(w(true), [], none, 'en')).toBeNull()
  })
  it('does not ask again about a rated resolve, and asks anew after a reopen', () => {
    expect(csatAsk(w(true), [head('b', 'closed')], (c) => c === 'b', 'en')).toBeNull()
    expect(csatReset([head('b', 'open')], 'b')).toBe(true)
    expect(csatReset([head('b', 'resolved')], 'b')).toBe(false)
    expect(csatReset([], 'b')).toBe(false)
  })
})
