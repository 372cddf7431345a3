// A child process we start must not outlive us: the purge service's varnishncsa readers and the launcher's
// varnishd are stopped by their owners, and this covers the owner dying first.
import { spawn } from 'node:child_process'

/**
 * Kills `pid` if this Node process dies without stopping it, however it dies (crash, a test runner's SIGTERM,
 * even SIGKILL): a tiny sh blocks reading a pipe from us; when we die the pipe closes, and it sends SIGTERM,
 * then SIGKILL after 5 s. It ignores INT/TERM/HUP so a signal to our process group cannot remove it first.
 * No signal handlers are installed in this process (they fight with other libraries' handlers).
 */
export function startWatchdog(pid: number): { disarm(): void } {
  const script = `trap '' INT TERM HUP; read -r _; kill -TERM ${pid} 2>/dev/null; i=0; ` +
    `while kill -0 ${pid} 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i+1)); done; kill -KILL ${pid} 2>/dev/null`
  const w = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'] })
  w.on('error', () => {}) // no /bin/sh: we lose only the safety net
  w.stdin?.on('error', () => {})
  w.unref()
  ;(w.stdin as unknown as { unref?: () => void } | null)?.unref?.()
  let armed = true
  return {
    disarm() {
      if (!armed) return
      armed = false
      try { w.kill('SIGKILL') } catch { /* gone */ }
    },
  }
}
