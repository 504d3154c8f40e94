// Draws the console's app icons (web/console/public/icons/icon-{192,512}.png):
// a white speech bubble on the console's accent blue, kept inside the
// centre 60 % so the same image works as a maskable icon (Android crops to
// a circle or squircle of the inner 80 %). Plain RGBA PNGs written with
// node's zlib, no image library. Run: node scripts/make-icons.mjs
import { crc32, deflateSync } from 'node:zlib'
import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const BG = [0x1f, 0x6f, 0xeb]
const FG = [0xff, 0xff, 0xff]

/** Whether (x, y), both in 0..1, is inside the bubble (body + tail). */
function bubble(x, y) {
  const inRoundRect = (l, t, r, b, rad) => {
    const cx = Math.min(Math.max(x, l + rad), r - rad)
    const cy = Math.min(Math.max(y, t + rad), b - rad)
    return (x - cx) ** 2 + (y - cy) ** 2 <= rad * rad
  }
  const body = inRoundRect(0.22, 0.25, 0.78, 0.65, 0.1)
  // The tail: a triangle below the body's lower left.
  const tail = y >= 0.64 && y <= 0.78 && x >= 0.32 && x <= 0.32 + (0.78 - y) * 1.2 && x <= 0.5
  // Three dots of "typing" cut out of the body.
  const dot = [0.36, 0.5, 0.64].some((dx) => (x - dx) ** 2 + (y - 0.45) ** 2 <= 0.045 ** 2)
  return (body || tail) && !dot
}

function png(size) {
  const row = size * 4 + 1
  const raw = Buffer.alloc(row * size)
  const ss = 4 // supersampling per axis, for smooth edges
  for (let py = 0; py < size; py++) {
    raw[py * row] = 0 // filter: none
    for (let px = 0; px < size; px++) {
      let hits = 0
      for (let sy = 0; sy < ss; sy++)
        for (let sx = 0; sx < ss; sx++) if (bubble((px + (sx + 0.5) / ss) / size, (py + (sy + 0.5) / ss) / size)) hits++
      const a = hits / (ss * ss)
      const o = py * row + 1 + px * 4
      for (let c = 0; c < 3; c++) raw[o + c] = Math.round(BG[c] * (1 - a) + FG[c] * a)
      raw[o + 3] = 255
    }
  }
  const chunk = (type, data) => {
    const len = Buffer.alloc(4)
    len.writeUInt32BE(data.length)
    const td = Buffer.concat([Buffer.from(type, 'ascii'), data])
    const crc = Buffer.alloc(4)
    crc.writeUInt32BE(crc32(td))
    return Buffer.concat([len, td, crc])
  }
  const ihdr = Buffer.alloc(13)
  ihdr.writeUInt32BE(size, 0)
  ihdr.writeUInt32BE(size, 4)
  ihdr[8] = 8 // bit depth
  ihdr[9] = 6 // RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const dir = fileURLToPath(new URL('../console/public/icons/', import.meta.url))
for (const size of [192, 512]) writeFileSync(`${dir}icon-${size}.png`, png(size))
