import { pino, type Logger, type LoggerOptions } from 'pino'

export type { Logger } from 'pino'

/** Paths whose values never reach a log line. */
export const redactedPaths = [
  'password',
  'apiKey',
  'token',
  'secret',
  'authorization',
  '*.password',
  '*.apiKey',
  '*.token',
  '*.secret',
  '*.authorization',
  '*.sasl',
  'headers.authorization',
  'metadata["x-api-key"]',
]

export interface LoggerSettings {
  level?: LoggerOptions['level']
  name?: string
  /** Where lines go. @default process.stdout */
  destination?: pino.DestinationStream
}

/** Structured JSON logs with secrets redacted. */
export function createLogger(settings: LoggerSettings = {}): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? 'info',
    base: { pid: process.pid, ...(settings.name === undefined ? {} : { name: settings.name }) },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }
  return settings.destination === undefined ? pino(options) : pino(options, settings.destination)
}
