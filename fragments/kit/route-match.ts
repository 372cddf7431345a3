// A fastify-style path pattern (`/articles/:slug`) matched against a path, for the few places that resolve a
// URL to a route themselves (a draft preview assembles its includes in-process, without the edge).

/** The pattern's parameters from `path`, or undefined when it does not match (a parameter is one segment). */
export function matchPath(pattern: string, path: string): Record<string, string> | undefined {
  const names: string[] = []
  const source = pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([A-Za-z]+)/g, (_, name: string) => {
    names.push(name)
    return '([^/]+)'
  })
  const m = new RegExp(`^${source}$`).exec(path)
  if (!m) return undefined
  return Object.fromEntries(names.map((name, i) => [name, decodeURIComponent(m[i + 1]!)]))
}
