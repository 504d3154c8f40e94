import { describe, expect, it, vi } from 'vitest'
import { EXCERPT_CHARS, excerptOf } from './excerpt'

// i18n.ts (behind extraStrings.ts) reads the saved language when loaded.
vi.stubGlobal('localStorage', { getItem: () => null, setItem: () => undefined })
vi.stubGlobal('navigator', { language: 'en' })
const { en, zh } = await import('./extraStrings')

describe('excerptOf', () => {
  it('says what an image or a file is, in the agent language, whatever text it carries', () => {
    expect(excerptOf('image', 'photo.png', zh)).toBe('[图片]')
    expect(excerptOf('file', 'invoice.pdf', zh)).toBe('[文件]')
    expect(excerptOf('image', '', en)).toBe('[image]')
    expect(excerptOf('file', undefined, en)).toBe('[file]')
  })

  it('shows a text (or a note) as it is, cut to the excerpt length without splitting a character', () => {
    expect(excerptOf('text', 'hello', zh)).toBe('hello')
    expect(excerptOf('note', 'internal', en)).toBe('internal')
    expect(excerptOf(undefined, undefined, en)).toBe('')
    const long = '好'.repeat(EXCERPT_CHARS + 10)
    expect(excerptOf('text', long, zh)).toBe('好'.repeat(EXCERPT_CHARS))
  })
})
