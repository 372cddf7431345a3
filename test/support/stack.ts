// The real stack for an integration test (scripts/stack/ephemeral.ts), stopped in teardown; the tail of its
// log is printed when the test fails.
import type { Stack } from '../../scripts/stack/stack.js'
import { startEphemeralStack } from '../../scripts/stack/ephemeral.js'

interface Teardown {
  teardown(fn: () => unknown): void
  passing(): boolean
  comment(...args: unknown[]): void
}

export async function startTestStack(t: Teardown, options: Omit<Parameters<typeof startEphemeralStack>[0], 'name'> = {}): Promise<Stack> {
  const ephemeral = await startEphemeralStack({ name: 'test', ...options })
  t.teardown(async () => {
    const tail = t.passing() ? '' : ephemeral.logTail()
    await ephemeral.dispose()
    if (tail) t.comment(`stack log:\n${tail}`)
  })
  return ephemeral.stack
}
