import { describe, expect, it } from 'vitest'
import { composerReplies, fillVariables, insertAt, shortcutAt } from './canned'

const vars = {
  contact: { name: '韩梅梅', email: 'han@example.com', phone: '' },
  agent: { name: 'Li Lei', email: 'li@example.com' },
  conversation: { id: 'c1' },
}

describe('canned shortcuts', () => {
  it('are found at the start or after a space, before the caret', () => {
    expect(shortcutAt('/ref', 4)).toEqual({ start: 0, query: 'ref' })
    expect(shortcutAt('Thanks! /退款', 11)).toEqual({ start: 8, query: '退款' })
    expect(shortcutAt('see a/b', 7)).toBeNull()
    expect(shortcutAt('/ref more', 9)).toBeNull()
    expect(shortcutAt('/ref more', 4)).toEqual({ start: 0, query: 'ref' })
  })
  it('are replaced by the reply where they were typed', () => {
    expect(insertAt('Hi /ref, bye', 3, 7, 'REFUND')).toEqual({ text: 'Hi REFUND, bye', caret: 9 })
  })
})

describe('variables', () => {
  it('are filled from the conversation', () => {
    expect(fillVariables('您好 {{contact.name}}，我是{{ agent.name }}。', vars)).toBe('您好 韩梅梅，我是Li Lei。')
  })
  it('keep unknown ones as typed and fall back for empty ones', () => {
    expect(fillVariables('{{contact.nmae}} {{order.id}}', vars)).toBe('{{contact.nmae}} {{order.id}}')
    expect(fillVariables('Call {{contact.phone}}', vars, { 'contact.phone': '—' })).toBe('Call —')
    expect(fillVariables('Call {{contact.phone}}!', vars)).toBe('Call !')
  })
})

describe('personal replies', () => {
  it('shadow a shared reply of the same shortcut in the composer', () => {
    const all = [
      { shortcut: 'hi', content: 'Hello', personal: false },
      { shortcut: 'hi', content: 'Hi {{contact.name}}', personal: true },
      { shortcut: 'refund', content: 'Refunds…', personal: false },
      { shortcut: 'thanks', content: 'Thanks!', personal: true },
    ]
    expect(composerReplies(all).map((c) => c.content)).toEqual(['Hi {{contact.name}}', 'Refunds…', 'Thanks!'])
  })
})
