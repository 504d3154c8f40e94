import { describe, expect, it } from 'vitest'
import { MAX_TAGS, addTags, isPriority, knownTags, priorityRank, removeTag, tagChanges, typedTags } from './labels'

describe('tags', () => {
  it('adds typed tags trimmed, once, several at a time with commas', () => {
    expect(addTags([], '  vip ')).toEqual({ tags: ['vip'] })
    expect(addTags(['vip'], 'refund, 退款，vip')).toEqual({ tags: ['vip', 'refund', '退款'] })
    const same = ['vip']
    expect((addTags(same, ' vip ') as { tags: string[] }).tags).toBe(same)
    expect((addTags(same, ' , ') as { tags: string[] }).tags).toBe(same)
  })
  it('refuses what the server would refuse', () => {
    expect(addTags([], 'x'.repeat(33))).toEqual({ problem: 'length' })
    // 32 characters, some outside the BMP (two UTF-16 units each): fine.
    expect(addTags([], '😀'.repeat(32))).toEqual({ tags: ['😀'.repeat(32)] })
    expect(addTags([], 'a\tb')).toEqual({ problem: 'length' })
    const full = Array.from({ length: MAX_TAGS }, (_, i) => `t${i}`)
    expect(addTags(full, 'one-more')).toEqual({ problem: 'tooMany' })
    expect(addTags(full, 't3')).toEqual({ tags: full })
  })
  it('reads what was typed as the tags to add, whatever the set holds', () => {
    expect(typedTags(' vip, 退款，vip ,, ')).toEqual(['vip', '退款'])
    expect(typedTags(' , ')).toEqual([])
  })
  it('removes, diffs and suggests', () => {
    expect(removeTag(['a', 'b'], 'a')).toEqual(['b'])
    expect(tagChanges(['a', 'b'], ['b', 'c'])).toEqual({ added: ['c'], removed: ['a'] })
    expect(knownTags([['vip', 'refund'], ['refund'], undefined, ['b']])).toEqual(['refund', 'b', 'vip'])
  })
})

describe('priority', () => {
  it('ranks and recognises priorities', () => {
    expect(['urgent', 'low', 'high', 'normal'].sort((a, b) => priorityRank(a) - priorityRank(b))).toEqual(['low', 'normal', 'high', 'urgent'])
    expect(priorityRank('bogus')).toBe(1)
    expect(isPriority('high')).toBe(true)
    expect(isPriority('HIGH')).toBe(false)
  })
})
