import { describe, expect, it } from 'vitest'
import { parseValue, showValue } from './attributes'

describe('attribute values', () => {
  it('are parsed by kind', () => {
    expect(parseValue('number', ' 42 ')).toBe(42)
    expect(parseValue('number', 'many')).toBeUndefined()
    expect(parseValue('date', '2026-12-01')).toBe('2026-12-01')
    expect(parseValue('date', '1/12/2026')).toBeUndefined()
    expect(parseValue('link', 'https://shop.example.com/o/1')).toBe('https://shop.example.com/o/1')
    expect(parseValue('link', 'javascript:alert(1)')).toBeUndefined()
    expect(parseValue('boolean', true)).toBe(true)
    expect(parseValue('text', '  ')).toBeNull()
    expect(parseValue('text', ' 金卡会员 ')).toBe('金卡会员')
  })
  it('are shown as text', () => {
    expect(showValue(3)).toBe('3')
    expect(showValue(null)).toBe('')
    expect(showValue({ a: 1 })).toBe('{"a":1}')
  })
})
