// Reading a whole list page by page, with the REST client replaced by a fake.
import { describe, expect, it, vi } from 'vitest'

const asked: string[] = []
const pages: Record<string, unknown> = {
  '/api/v1/canned-replies?limit=2': { items: [1, 2], next_cursor: 'c 2' },
  '/api/v1/canned-replies?limit=2&cursor=c%202': { items: [3], next_cursor: null },
  '/api/v1/groups': { items: ['g'], next_cursor: null },
}
vi.mock('./api', () => ({
  api: async (_method: string, path: string) => {
    asked.push(path)
    return pages[path]
  },
}))

const { listAll } = await import('./lists')

describe('listAll', () => {
  it('follows next_cursor until it is null', async () => {
    expect(await listAll<number>('/api/v1/canned-replies?limit=2')).toEqual([1, 2, 3])
    expect(asked).toEqual(['/api/v1/canned-replies?limit=2', '/api/v1/canned-replies?limit=2&cursor=c%202'])
  })

  it('takes one request for a list that comes whole', async () => {
    asked.length = 0
    expect(await listAll<string>('/api/v1/groups')).toEqual(['g'])
    expect(asked).toEqual(['/api/v1/groups'])
  })
})
