import { describe, expect, it } from 'vitest'
import { SHORTCUTS, comboLabel, composing, isMac, matches, shortcutsFor, step, takesText, whereIs, type ElementLike, type KeyPress } from './shortcuts'

const press = (key: string, mods: Partial<KeyPress> = {}): KeyPress => ({ key, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, ...mods })
const ids = (e: KeyPress, where: Parameters<typeof shortcutsFor>[1], mac = false) => shortcutsFor(e, where, mac).map((s) => s.id)

/** An element as `whereIs` sees it: a tag, attributes, and the ancestors' selectors it is inside. */
function el(tag: string, attrs: Record<string, string> = {}, inside: string[] = [], editable = false): ElementLike {
  return { tagName: tag, isContentEditable: editable, getAttribute: (n) => attrs[n] ?? null, closest: (s) => (inside.includes(s) ? {} : null) }
}

describe('key matching', () => {
  it('tells Ctrl from ⌘ by platform', () => {
    expect(isMac('MacIntel')).toBe(true)
    expect(isMac('iPhone')).toBe(true)
    expect(isMac('Linux x86_64')).toBe(false)
    expect(isMac('Win32')).toBe(false)
    const bar = { key: 'k', mod: true }
    expect(matches(press('k', { ctrlKey: true }), bar, false)).toBe(true)
    expect(matches(press('k', { metaKey: true }), bar, false)).toBe(false)
    expect(matches(press('k', { metaKey: true }), bar, true)).toBe(true)
    expect(matches(press('k', { ctrlKey: true }), bar, true)).toBe(false)
    // Both held is neither.
    expect(matches(press('k', { ctrlKey: true, metaKey: true }), bar, false)).toBe(false)
  })

  it('wants exactly the modifiers of the combination', () => {
    expect(matches(press('j'), { key: 'j' }, false)).toBe(true)
    expect(matches(press('J', { shiftKey: true }), { key: 'j' }, false)).toBe(false)
    expect(matches(press('j', { altKey: true }), { key: 'j' }, false)).toBe(false)
    expect(matches(press('j', { ctrlKey: true }), { key: 'j' }, false)).toBe(false)
    expect(matches(press('N', { ctrlKey: true, shiftKey: true }), { key: 'n', mod: true, shift: true }, false)).toBe(true)
    expect(matches(press('n', { ctrlKey: true }), { key: 'n', mod: true, shift: true }, false)).toBe(false)
    expect(matches(press('Enter', { shiftKey: true }), { key: 'Enter' }, false)).toBe(false)
    expect(matches(press('Enter', { shiftKey: true }), { key: 'Enter', shift: true }, false)).toBe(true)
  })

  it('ignores Shift for characters layouts type with it, and matches letters by their key when the layout changes them', () => {
    expect(matches(press('?', { shiftKey: true }), { key: '?' }, false)).toBe(true)
    expect(matches(press('/', { shiftKey: true }), { key: '/' }, false)).toBe(true)
    // Russian layout: the K key types "л"; Option+N on a Mac is a dead key.
    expect(matches(press('л', { code: 'KeyK', ctrlKey: true }), { key: 'k', mod: true }, false)).toBe(true)
    expect(matches(press('Dead', { code: 'KeyN', altKey: true }), { key: 'n', alt: true }, true)).toBe(true)
    // AZERTY: the key in the place of Q types "a": the typed letter wins.
    expect(matches(press('a', { code: 'KeyQ' }), { key: 'q' }, false)).toBe(false)
  })

  it('never acts during an input method composition', () => {
    expect(composing(press('Process'))).toBe(true)
    expect(composing(press('j', { keyCode: 229 }))).toBe(true)
    expect(composing(press('j', { isComposing: true }))).toBe(true)
    expect(ids(press('Escape', { isComposing: true }), 'composer')).toEqual([])
    expect(ids(press('k', { ctrlKey: true, isComposing: true }), 'composer')).toEqual([])
  })
})

describe('where a key press happened', () => {
  it('knows text fields from controls that take no text', () => {
    expect(takesText(el('TEXTAREA'))).toBe(true)
    expect(takesText(el('INPUT'))).toBe(true)
    expect(takesText(el('INPUT', { type: 'search' }))).toBe(true)
    expect(takesText(el('SELECT'))).toBe(true)
    expect(takesText(el('DIV', {}, [], true))).toBe(true)
    expect(takesText(el('INPUT', { type: 'checkbox' }))).toBe(false)
    expect(takesText(el('BUTTON'))).toBe(false)
    expect(takesText(el('A'))).toBe(false)
  })

  it('tells the composer, other fields, dialogs and the page apart', () => {
    expect(whereIs(null)).toBe('page')
    expect(whereIs(el('BODY'))).toBe('page')
    expect(whereIs(el('BUTTON'))).toBe('page')
    expect(whereIs(el('TEXTAREA', { 'data-shortcuts': 'composer' }))).toBe('composer')
    expect(whereIs(el('INPUT'))).toBe('field')
    expect(whereIs(el('INPUT', {}, ['[aria-modal="true"]']))).toBe('dialog')
    expect(whereIs(el('BUTTON', {}, ['[aria-modal="true"]']))).toBe('dialog')
  })
})

describe('the registry', () => {
  it('acts on single letters only where nothing takes text', () => {
    expect(ids(press('j'), 'page')).toEqual(['next'])
    expect(ids(press('e'), 'page')).toEqual(['resolve'])
    expect(ids(press('?', { shiftKey: true }), 'page')).toEqual(['help'])
    expect(ids(press('/'), 'page')).toEqual(['canned'])
    for (const where of ['composer', 'field', 'dialog'] as const) {
      expect(ids(press('j'), where)).toEqual([])
      expect(ids(press('e'), where)).toEqual([])
      expect(ids(press('/'), where)).toEqual([])
    }
  })

  it('opens the command bar from everywhere, and moves through the list with Alt+arrows from the composer too', () => {
    for (const where of ['page', 'composer', 'field', 'dialog'] as const) expect(ids(press('k', { ctrlKey: true }), where)).toEqual(['commandBar'])
    expect(ids(press('k', { metaKey: true }), 'composer', true)).toEqual(['commandBar'])
    expect(ids(press('ArrowDown', { altKey: true }), 'composer')).toEqual(['next'])
    expect(ids(press('ArrowUp', { altKey: true }), 'page')).toEqual(['previous'])
    expect(ids(press('ArrowDown', { altKey: true }), 'field')).toEqual([])
  })

  it('leaves Enter, Shift+Enter and the suggestion keys to the composer', () => {
    expect(ids(press('Enter'), 'composer')).toEqual([])
    expect(ids(press('Enter', { shiftKey: true }), 'composer')).toEqual([])
    expect(ids(press('ArrowDown'), 'composer')).toEqual([])
    expect(ids(press('Tab'), 'composer')).toEqual([])
    expect(ids(press('Escape'), 'composer')).toEqual(['leaveComposer'])
    expect(ids(press('N', { ctrlKey: true, shiftKey: true }), 'composer')).toEqual(['toggleMode'])
    expect(ids(press('n', { altKey: true }), 'composer')).toEqual(['toggleMode'])
    expect(ids(press('n'), 'composer')).toEqual([])
  })

  it('repeats only moving through the list while a key is held', () => {
    expect(ids(press('j', { repeat: true }), 'page')).toEqual(['next'])
    expect(ids(press('e', { repeat: true }), 'page')).toEqual([])
  })

  it('has unique ids and no combination claimed twice in one place', () => {
    expect(new Set(SHORTCUTS.map((s) => s.id)).size).toBe(SHORTCUTS.length)
    const seen = new Map<string, string>()
    for (const s of SHORTCUTS as readonly { id: string; scope: string; keys: readonly Record<string, unknown>[] }[]) {
      for (const c of s.keys) {
        const k = `${c.scope ?? s.scope}|${comboLabel(c as never, false)}`
        // Escape closes a menu on the page and leaves the composer: different places.
        expect(seen.get(k), `${k}: ${s.id}`).toBeUndefined()
        seen.set(k, s.id)
      }
    }
  })
})

describe('labels and list steps', () => {
  it('writes combinations the way each platform names keys', () => {
    expect(comboLabel({ key: 'k', mod: true }, false)).toBe('Ctrl+K')
    expect(comboLabel({ key: 'k', mod: true }, true)).toBe('⌘K')
    expect(comboLabel({ key: 'n', mod: true, shift: true }, false)).toBe('Ctrl+Shift+N')
    expect(comboLabel({ key: 'n', mod: true, shift: true }, true)).toBe('⌘⇧N')
    expect(comboLabel({ key: 'ArrowDown', alt: true }, false)).toBe('Alt+↓')
    expect(comboLabel({ key: 'ArrowDown', alt: true }, true)).toBe('⌥↓')
    expect(comboLabel({ key: 'Escape' }, false)).toBe('Esc')
    expect(comboLabel({ key: '?' }, false)).toBe('?')
  })

  it('steps through the list and stops at its ends', () => {
    const list = ['a', 'b', 'c']
    expect(step(list, null, 1)).toBe('a')
    expect(step(list, null, -1)).toBe('c')
    expect(step(list, 'a', 1)).toBe('b')
    expect(step(list, 'b', -1)).toBe('a')
    expect(step(list, 'c', 1)).toBeNull()
    expect(step(list, 'a', -1)).toBeNull()
    expect(step(list, 'gone', 1)).toBe('a')
    expect(step([], null, 1)).toBeNull()
  })
})
