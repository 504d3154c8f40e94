import { describe, expect, it } from 'vitest'
import { linkify } from './linkify'

describe('linkify', () => {
  it('links http, https and mailto, keeping the text around them', () => {
    expect(linkify('See https://shop.example.com/o/1?x=2#a, or mail mailto:help@example.com.')).toEqual([
      { text: 'See ' },
      { text: 'https://shop.example.com/o/1?x=2#a', href: 'https://shop.example.com/o/1?x=2#a' },
      { text: ', or mail ' },
      { text: 'mailto:help@example.com', href: 'mailto:help@example.com' },
      { text: '.' },
    ])
  })
  it('never links other schemes', () => {
    for (const s of ['javascript:alert(1)', 'data:text/html,<b>x</b>', 'ftp://x.example.com', 'www.example.com']) {
      expect(linkify(s)).toEqual([{ text: s }])
    }
  })
  it('leaves Chinese punctuation out of the link', () => {
    expect(linkify('订单详情：https://shop.example.com/订单/6610。谢谢')).toEqual([
      { text: '订单详情：' },
      { text: 'https://shop.example.com/订单/6610', href: 'https://shop.example.com/订单/6610' },
      { text: '。谢谢' },
    ])
  })
  it('needs a host', () => {
    expect(linkify('http:// nothing')).toEqual([{ text: 'http:// nothing' }])
  })
  it('keeps plain text whole', () => {
    expect(linkify('你好')).toEqual([{ text: '你好' }])
    expect(linkify('')).toEqual([])
  })
})
