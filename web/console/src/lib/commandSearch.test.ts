import { describe, expect, it } from 'vitest'
import { score, search } from './commandSearch'

describe('command bar search', () => {
  const items = [
    { label: 'Resolve the conversation' },
    { label: 'Li Lei', detail: 'lilei@example.com · Where is my parcel?' },
    { label: 'Marie Curie', detail: 'marie@example.com · I would like to resolve a billing issue' },
    { label: '韩梅梅', detail: '我的包裹在哪里？' },
    { label: 'Settings: Agents' },
  ]
  const labels = (q: string) => search(items, q, 10).map((x) => x.label)

  it('finds by name, e-mail and excerpt, in Chinese too, ignoring case', () => {
    expect(labels('li lei')).toEqual(['Li Lei'])
    expect(labels('LILEI@')).toEqual(['Li Lei'])
    expect(labels('parcel')).toEqual(['Li Lei'])
    expect(labels('韩')).toEqual(['韩梅梅'])
    expect(labels('包裹')).toEqual(['韩梅梅'])
    expect(labels('nobody here')).toEqual([])
  })

  it('puts a label that starts with the words before one that only mentions them', () => {
    expect(labels('resolve')).toEqual(['Resolve the conversation', 'Marie Curie'])
    expect(labels('agents')).toEqual(['Settings: Agents'])
    expect(score({ label: 'Lei Li' }, 'lei')).toBeGreaterThan(score({ label: 'Li Lei' }, 'lei'))
    expect(score({ label: 'Li Lei' }, 'lei')).toBeGreaterThan(score({ label: 'Kalei' }, 'lei'))
  })

  it('needs every word, keeps the given order on ties, and stops at the limit', () => {
    expect(labels('marie billing')).toEqual(['Marie Curie'])
    expect(labels('marie parcel')).toEqual([])
    expect(search(items, '', 2).map((x) => x.label)).toEqual(['Resolve the conversation', 'Li Lei'])
  })
})
