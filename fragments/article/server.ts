import { runFragment } from '../kit/run.js'
import { article } from './fragment.js'

await runFragment(article)
