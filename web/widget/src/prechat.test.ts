import { describe, expect, it } from 'vitest'
import { answer, askAs } from './prechat'
import type { AttributeDef, PrechatField } from './types'

const field = (key: string, kind: PrechatField['kind'] = 'text'): PrechatField => ({ key, label: `field ${key}`, kind, required: false })
const defs: AttributeDef[] = [
  { key: 'order_count', label: 'Orders so far', kind: 'number' },
  { key: 'birthday', label: 'Birthday', kind: 'date' },
  { key: 'vip', label: 'VIP', kind: 'boolean' },
  { key: 'site', label: 'Website', kind: 'link' },
  { key: 'city', label: 'City', kind: 'text' },
]

describe('askAs', () => {
  it("asks for a defined attribute under the definition's label, with an input of its type", () => {
    expect(askAs(field('order_count'), defs)).toEqual({ label: 'Orders so far', type: 'number' })
    expect(askAs(field('birthday'), defs)).toEqual({ label: 'Birthday', type: 'date' })
    expect(askAs(field('vip'), defs)).toEqual({ label: 'VIP', type: 'checkbox' })
    expect(askAs(field('site'), defs)).toEqual({ label: 'Website', type: 'url' })
  })

  it("keeps the field's own kind for a text attribute and its own label and kind for an undefined key", () => {
    expect(askAs(field('city', 'textarea'), defs)).toEqual({ label: 'City', type: 'textarea' })
    expect(askAs(field('phone', 'tel'), defs)).toEqual({ label: 'field phone', type: 'tel' })
    expect(askAs(field('phone', 'tel'), undefined)).toEqual({ label: 'field phone', type: 'tel' })
  })
})

describe('answer', () => {
  it('sends numbers as numbers, yes/no as booleans, text trimmed, nothing for empty', () => {
    expect(answer('number', ' 42 ', false)).toBe(42)
    expect(answer('number', 'abc', false)).toBeUndefined()
    expect(answer('checkbox', '', true)).toBe(true)
    expect(answer('checkbox', 'on', false)).toBe(false)
    expect(answer('date', '2026-05-01', false)).toBe('2026-05-01')
    expect(answer('text', '  Hangzhou ', false)).toBe('Hangzhou')
    expect(answer('email', '   ', false)).toBeUndefined()
  })
})
