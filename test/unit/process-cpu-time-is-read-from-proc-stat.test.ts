import t from 'tap'
import { cpuSecondsOf, parseProcStat } from '../../bench/support/process-cpu.js'

t.test('a stat line whose comm holds spaces and parentheses gives its pid, comm and utime + stime', async (t) => {
  const line = '4242 (cache) (main x) S 4200 4242 4242 0 -1 4194624 1615 0 0 0 153 47 0 0 20 0 216 0 1789111 281268224 22541 18446744073709551615\n'
  t.same(parseProcStat(line), { pid: 4242, comm: 'cache) (main x', cpuTicks: 200 })
})

t.test('a line that is not a stat line is refused', async (t) => {
  t.throws(() => parseProcStat('4242 cache-main S 4200'), /not a \/proc\/<pid>\/stat line/)
  t.throws(() => parseProcStat('4242 (cache-main) S 4200'), /not a \/proc\/<pid>\/stat line/, 'fields cut short')
})

t.test("this process's own CPU seconds grow as it burns CPU, in step with process.cpuUsage()", async (t) => {
  const before = cpuSecondsOf('self')
  t.ok(before >= 0, `${before} s is not negative`)
  const start = process.cpuUsage()
  while (process.cpuUsage(start).user < 200_000) Math.sqrt(Math.random())
  const after = cpuSecondsOf('self')
  const { user, system } = process.cpuUsage()
  t.ok(after - before >= 0.15, `${after - before} s more after burning 0.2 s`)
  // Both read the kernel's account of this process; /proc rounds it down to 10 ms ticks.
  t.ok(Math.abs(after - (user + system) / 1e6) < 0.05, `/proc says ${after} s, process.cpuUsage() ${(user + system) / 1e6} s`)
})
