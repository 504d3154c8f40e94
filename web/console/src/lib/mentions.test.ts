import { describe, expect, it } from 'vitest'
import { matchPeople, mentionAt, mentionParts } from './mentions'

const people = [
  { id: 'u1', name: 'Li' },
  { id: 'u2', name: 'Li Lei' },
  { id: 'u3', name: '张三' },
  { id: 'u4', name: 'Ann' },
]

describe('mentions', () => {
  it('finds the @query before the caret, in Latin and Chinese text', () => {
    expect(mentionAt('hi @an', 6)).toEqual({ start: 3, query: 'an' })
    expect(mentionAt('@', 1)).toEqual({ start: 0, query: '' })
    expect(mentionAt('请@张', 3)).toEqual({ start: 1, query: '张' })
    expect(mentionAt('mail ann@li', 11)).toBeNull()
    expect(mentionAt('@ann done', 9)).toBeNull()
  })

  it('matches names that start with the query first', () => {
    expect(matchPeople(people, 'li').map((p) => p.id)).toEqual(['u1', 'u2'])
    expect(matchPeople(people, 'lei').map((p) => p.id)).toEqual(['u2'])
    expect(matchPeople(people, '').length).toBe(4)
    expect(matchPeople(people, '', 2).length).toBe(2)
  })

  it('splits a note into mentions (longest name first) and text, like the server', () => {
    expect(mentionParts('@Li Lei look, @张三你好', people)).toEqual([
      { text: '@Li Lei', mention: 'u2' },
      { text: ' look, ' },
      { text: '@张三', mention: 'u3' },
      { text: '你好' },
    ])
    expect(mentionParts('ann@li.com @Annie', people)).toEqual([{ text: 'ann@li.com @Annie' }])
    expect(mentionParts('', people)).toEqual([])
  })
})
