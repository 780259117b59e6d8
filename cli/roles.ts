import type { RoleDefinition } from '../consumers/runtime/context.js'

/** Every role `churn run` can start, in start order (producers of a topic before its consumers). */
export const roles: readonly RoleDefinition[] = []

export function roleNames(): string[] {
  return roles.map((role) => role.name)
}
