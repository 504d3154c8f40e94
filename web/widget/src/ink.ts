// The text colour on the inbox's configured colour (header, launcher, the
// visitor's bubbles, buttons): white or black, whichever contrasts more by
// WCAG relative luminance. The crossing is at 0.179, where both give 4.58:1,
// so any colour a customer picks stays readable (WCAG AA, 4.5:1).

export function ink(color: string): string {
  const n = parseInt(color.slice(1), 16) || 0
  const [r, g, b] = [16, 8, 0].map((s) => {
    const c = ((n >> s) & 255) / 255
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4
  })
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.179 ? '#000' : '#fff'
}
