import { describe, expect, it } from 'vitest'
import { contactName, contactsUrl } from './contactList'

describe('the contact list request', () => {
  it('leaves out what is empty', () => {
    expect(contactsUrl({ q: '  ', filters: [], blockedOnly: false })).toBe('/api/v1/contacts?limit=50')
  })

  it('sends words, attribute conditions as one JSON object, blocked and the cursor', () => {
    const url = contactsUrl({
      q: ' 王芳 vip ',
      filters: [
        { key: 'plan', value: ' gold ' },
        { key: 'city', value: '' },
        { key: ' ', value: 'ignored' },
      ],
      blockedOnly: true,
      cursor: 'abc',
      limit: 20,
    })
    const p = new URL(url, 'http://x').searchParams
    expect(p.get('q')).toBe('王芳 vip')
    expect(JSON.parse(p.get('attributes')!)).toEqual({ plan: 'gold', city: null })
    expect(p.get('blocked')).toBe('true')
    expect(p.get('cursor')).toBe('abc')
    expect(p.get('limit')).toBe('20')
  })
})

describe('a contact in the list', () => {
  const base = { id: '0190-abcdef123456', name: null, email: null, phone: null }
  it('is named by name, e-mail, phone, then as a visitor with a short id', () => {
    expect(contactName({ ...base, name: ' 王芳 ' }, 'Visitor {id}')).toBe('王芳')
    expect(contactName({ ...base, email: 'a@b.c' }, 'Visitor {id}')).toBe('a@b.c')
    expect(contactName({ ...base, phone: '+86 138' }, 'Visitor {id}')).toBe('+86 138')
    expect(contactName(base, '访客 {id}')).toBe('访客 123456')
  })
})
