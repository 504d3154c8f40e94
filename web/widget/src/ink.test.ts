import { describe, expect, it } from 'vitest'
import { ink } from './ink'

const lum = (hex: string) => {
  const n = parseInt(hex.length === 4 ? [...hex.slice(1)].map((d) => d + d).join('') : hex.slice(1), 16)
  const [r, g, b] = [16, 8, 0].map((s) => ((n >> s) & 255) / 255).map((c) => (c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
  return 0.2126 * r + 0.7152 * g + 0.0722 * b
}
const contrast = (a: string, b: string) => {
  const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p)
  return (x + 0.05) / (y + 0.05)
}

describe('ink: the text colour on the inbox colour', () => {
  it('is white on dark and saturated colours, black on light ones', () => {
    expect(ink('#1f6feb')).toBe('#fff') // the default blue
    expect(ink('#24292f')).toBe('#fff')
    expect(ink('#cf222e')).toBe('#fff')
    expect(ink('#ffd33d')).toBe('#000')
    expect(ink('#ffffff')).toBe('#000')
    expect(ink('#4ac26b')).toBe('#000')
  })

  it('meets WCAG AA (4.5:1) on every colour', () => {
    let worst = 21
    for (let r = 0; r < 256; r += 15)
      for (let g = 0; g < 256; g += 5)
        for (let b = 0; b < 256; b += 15) {
          const c = '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')
          worst = Math.min(worst, contrast(c, ink(c)))
        }
    expect(worst).toBeGreaterThanOrEqual(4.5)
  })
})
