import t from 'tap'
import { loadConfig } from '../../platform/config.js'

t.test('TESSERA_RENDER_DELAY_MS is off by default and takes an integer from 0 to 10000', async (t) => {
  t.equal(loadConfig({}).renderDelayMs, 0)
  t.equal(loadConfig({ TESSERA_RENDER_DELAY_MS: '200' }).renderDelayMs, 200)
  for (const bad of ['-1', '10001', '1.5', 'slow']) {
    t.throws(() => loadConfig({ TESSERA_RENDER_DELAY_MS: bad }), /TESSERA_RENDER_DELAY_MS/, `${bad} is refused`)
  }
})
