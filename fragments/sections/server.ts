import { runFragment } from '../kit/run.js'
import { sections } from './fragment.js'

await runFragment(sections)
