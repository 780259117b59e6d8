import { Writable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { createKafka } from '../../core/kafka.js'
import { createLogger } from '../../core/logger.js'

describe('KafkaJS logs', () => {
  it('go through the process logger; the retried CONCURRENT_TRANSACTIONS answer is demoted to debug, real errors stay errors', () => {
    const lines: { level: string; msg: string }[] = []
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as { level: string; msg: string })
        done()
      },
    })
    const kafka = createKafka({ brokers: ['127.0.0.1:1'], clientId: 'log-test', logger: createLogger({ level: 'debug', destination }) })
    const logger = kafka.logger()
    logger.error('Failed to send messages: The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing', { retryCount: 0 })
    logger.error('Response AddPartitionsToTxn(key: 24, version: 1)', { error: 'The producer attempted to update a transaction while another concurrent operation on the same transaction was ongoing' })
    logger.error('Connection error: connect ECONNREFUSED', {})
    expect(lines.map((line) => line.level)).toEqual(['debug', 'debug', 'error'])
    expect(lines[2]?.msg).toMatch(/ECONNREFUSED/u)
  })
})
