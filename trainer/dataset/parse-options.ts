import type { z } from 'zod'
import { ChurnError, ErrorCodes } from '../../core/errors.js'

/** Parses user options once, at the edge; the error names each bad field and what was expected. */
export function parseOptions<Schema extends z.ZodType>(schema: Schema, input: unknown, what: string): z.output<Schema> {
  const result = schema.safeParse(input ?? {})
  if (result.success) return result.data
  const problems = result.error.issues.map((issue) => {
    const field = issue.path.length === 0 ? '(options)' : issue.path.map(String).join('.')
    return `${field}: ${issue.message}`
  })
  throw new ChurnError(ErrorCodes.CONFIG_INVALID, `Invalid ${what} options:\n  ${problems.join('\n  ')}`, {
    details: { problems },
  })
}
