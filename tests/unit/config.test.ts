import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../core/config.js'
import { ChurnError } from '../../core/errors.js'

describe('parseConfig', () => {
  it('fills every default from an empty environment', () => {
    const config = parseConfig({})
    expect(config.KAFKA_BROKERS).toEqual(['127.0.0.1:9092'])
    expect(config.SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081/apis/ccompat/v7')
    expect(config.REDIS_URL).toBe('redis://127.0.0.1:6379')
    expect(config.CLICKHOUSE_URL).toBeUndefined()
    expect(config.CLICKHOUSE_PATH).toMatch(/\.stack\/clickhouse$/u)
    expect(config.METRICS_PORT).toBe(9464)
  })

  it('reads lists and numbers and ignores unrelated and empty variables', () => {
    const config = parseConfig({ KAFKA_BROKERS: 'a:1, b:2', METRICS_PORT: '0', HOME: '/root', CLICKHOUSE_URL: '' })
    expect(config.KAFKA_BROKERS).toEqual(['a:1', 'b:2'])
    expect(config.METRICS_PORT).toBe(0)
    expect(config.CLICKHOUSE_URL).toBeUndefined()
  })

  it('names each bad variable, the expectation and the value it got', () => {
    let caught: unknown
    try {
      parseConfig({ KAFKA_BROKERS: 'localhost', METRICS_PORT: '70000', REDIS_URL: 'not a url' })
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(ChurnError)
    const message = (caught as ChurnError).message
    expect((caught as ChurnError).code).toBe('CONFIG_INVALID')
    expect(message).toMatch(/KAFKA_BROKERS: expected host:port \(got "localhost"\)/u)
    expect(message).toMatch(/METRICS_PORT: .*65535.* \(got "70000"\)/u)
    expect(message).toMatch(/REDIS_URL: .*\(got "not a url"\)/u)
  })
})

describe('schema registry default', () => {
  it('follows the stack: Apicurio natively, Confluent under Docker, an explicit URL always wins', () => {
    expect(parseConfig({ STACK_MODE: 'docker' }).SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081')
    expect(parseConfig({ STACK_MODE: 'native' }).SCHEMA_REGISTRY_URL).toBe('http://127.0.0.1:8081/apis/ccompat/v7')
    expect(parseConfig({ STACK_MODE: 'docker', SCHEMA_REGISTRY_URL: 'http://r:1' }).SCHEMA_REGISTRY_URL).toBe('http://r:1')
  })
})

describe('trainer settings', () => {
  it('leaves TRAINER_* unset by default (the role has the defaults), reads numbers, and names a bad one', () => {
    expect(parseConfig({}).TRAINER_COOLDOWN_MS).toBeUndefined()
    const config = parseConfig({ TRAINER_COOLDOWN_MS: '5000', TRAINER_HORIZON_DAYS: '14', TRAINER_SAMPLE_EVERY_DAYS: '3', TRAINER_LOOKBACK_DAYS: '90', TRAINER_GATE_MIN_ROC_AUC: '0.7', TRAINER_GATE_MIN_IMPROVEMENT: '0.01' })
    expect([config.TRAINER_COOLDOWN_MS, config.TRAINER_HORIZON_DAYS, config.TRAINER_SAMPLE_EVERY_DAYS, config.TRAINER_LOOKBACK_DAYS]).toEqual([5_000, 14, 3, 90])
    expect([config.TRAINER_GATE_MIN_ROC_AUC, config.TRAINER_GATE_MIN_IMPROVEMENT]).toEqual([0.7, 0.01])
    expect(() => parseConfig({ TRAINER_HORIZON_DAYS: '0', TRAINER_GATE_MIN_ROC_AUC: 'high' })).toThrow(/TRAINER_HORIZON_DAYS: .*\(got "0"\)[\s\S]*TRAINER_GATE_MIN_ROC_AUC: .*\(got "high"\)/u)
  })
})
