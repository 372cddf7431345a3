import { runFragment } from '../kit/run.js'
import { nav } from './fragment.js'

await runFragment(nav)
