// Links in message text, safely: only http, https and mailto become links
// (never javascript: or data:), trailing punctuation stays text, and the
// caller renders each part as a text node or an <a rel="noopener noreferrer">
// (no HTML is ever parsed). Shared by the widget and the console.

export type Part = { text: string; href?: string }

const LINK = /\b(?:https?:\/\/|mailto:)[^\s<>"'`。，；！？、「」『』【】（）]+/gi
/** Punctuation that ends a sentence rather than a link (ASCII and CJK). */
const TRAILING = /[.,;:!?)\]}'"。，；：！？）」』】、]+$/

export function linkify(text: string): Part[] {
  const parts: Part[] = []
  let last = 0
  for (const m of text.matchAll(LINK)) {
    const start = m.index ?? 0
    let url = m[0]
    const tail = TRAILING.exec(url)?.[0] ?? ''
    // A closing bracket that has its opening one inside the link stays (wiki-style URLs).
    url = url.slice(0, url.length - tail.length)
    if (!/^(https?:\/\/[^/\s]+|mailto:[^@\s]+@[^@\s]+)/i.test(url)) continue
    if (start > last) parts.push({ text: text.slice(last, start) })
    parts.push({ text: url, href: url })
    last = start + url.length
  }
  if (last < text.length) parts.push({ text: text.slice(last) })
  return parts
}
