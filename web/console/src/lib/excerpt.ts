// One line of a message where the whole message does not fit: the
// conversation list, grab offers, a contact's past conversations, the command
// bar and desktop notifications. An image or a file says what it is in the
// agent's language (`[图片]`, `[file]`), never the raw text the server keeps
// for it; a text is cut to the length the server's excerpts have.

/** The longest excerpt shown, as the server cuts `last_message.excerpt`. */
export const EXCERPT_CHARS = 140

/** The words for a message that is not text (extraStrings.ts `x.image`, `x.file`). */
export interface ExcerptWords {
  image: string
  file: string
}

/** One line for a message of `kind` whose text is `text`. */
export function excerptOf(kind: string | undefined, text: string | undefined, w: ExcerptWords): string {
  if (kind === 'image') return w.image
  if (kind === 'file') return w.file
  return [...(text ?? '')].slice(0, EXCERPT_CHARS).join('')
}
