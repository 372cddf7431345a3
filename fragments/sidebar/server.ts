import { runFragment } from '../kit/run.js'
import { sidebar } from './fragment.js'

await runFragment(sidebar)
