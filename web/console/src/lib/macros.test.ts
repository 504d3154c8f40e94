import { describe, expect, it } from 'vitest'
import { ACTION_TYPES, blankAction, describe as describeAction, firstIncomplete, moved } from './macros'
import { macrosEn, macrosZh } from './macroStrings'
import { en } from './strings'

const placeholders = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()

describe('macro strings', () => {
  it('has every string in both languages with the same placeholders', () => {
    const walk = (a: unknown, b: unknown, path: string) => {
      if (typeof a === 'string') {
        expect(typeof b, path).toBe('string')
        expect((b as string).length, path).toBeGreaterThan(0)
        expect(placeholders(b as string), path).toEqual(placeholders(a))
        return
      }
      expect(Object.keys(b as object).sort(), path).toEqual(Object.keys(a as object).sort())
      for (const k of Object.keys(a as object)) walk((a as never)[k], (b as never)[k], `${path}.${k}`)
    }
    walk(macrosEn, macrosZh, 'macros')
  })
  it('names and describes every action type', () => {
    for (const type of ACTION_TYPES) {
      expect(macrosEn.types[type], type).toBeTruthy()
      expect(macrosEn.describe[type], type).toBeTruthy()
    }
  })
})

const words = { ...macrosEn, priorities: en.priorities, statuses: { open: 'Open', pending: 'Pending', resolved: 'Resolved' } }
const names = (id: string) => ({ u1: 'Li Lei' })[id] ?? id

describe('macro actions', () => {
  it('start with defaults the server accepts once filled in', () => {
    expect(ACTION_TYPES.map(blankAction).map((a) => a.type)).toEqual([...ACTION_TYPES])
    expect(blankAction('assign')).toEqual({ type: 'assign', to: 'me' })
    expect(firstIncomplete([blankAction('unassign'), blankAction('reply')])).toBe(1)
    expect(firstIncomplete([{ type: 'assign', to: 'group:' }])).toBe(0)
    expect(firstIncomplete([{ type: 'snooze', for_secs: 30 }])).toBe(0)
    expect(firstIncomplete([{ type: 'reply', content: 'Hi' }, { type: 'status', status: 'resolved' }])).toBe(-1)
  })
  it('move up and down within the list', () => {
    expect(moved(['a', 'b', 'c'], 1, -1)).toEqual(['b', 'a', 'c'])
    expect(moved(['a', 'b', 'c'], 1, 1)).toEqual(['a', 'c', 'b'])
    expect(moved(['a', 'b'], 0, -1)).toEqual(['a', 'b'])
    expect(moved(['a', 'b'], 1, 1)).toEqual(['a', 'b'])
  })
  it('are described in words before a run', () => {
    expect(describeAction({ type: 'reply', content: 'Hi {{contact.name}}' }, words, names)).toBe('Reply: “Hi {{contact.name}}”')
    expect(describeAction({ type: 'reply', content: 'x'.repeat(70) }, words, names)).toBe(`Reply: “${'x'.repeat(60)}…”`)
    expect(describeAction({ type: 'assign', to: 'me' }, words, names)).toBe('Assign to whoever runs it')
    expect(describeAction({ type: 'assign', to: 'u1' }, words, names)).toBe('Assign to Li Lei')
    expect(describeAction({ type: 'assign', to: 'group:billing' }, words, names)).toBe('Assign to the group billing')
    expect(describeAction({ type: 'set_priority', priority: 'urgent' }, words, names)).toBe('Priority: Urgent')
    expect(describeAction({ type: 'status', status: 'resolved' }, words, names)).toBe('Status: Resolved')
    expect(describeAction({ type: 'snooze', for_secs: 5400 }, words, names)).toBe('Snooze for 1.5 h')
    expect(describeAction({ type: 'add_label', label: 'vip' }, words, names)).toBe('Add the label vip')
  })
})
