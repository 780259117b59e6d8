import { describe, expect, it } from 'vitest'
import { formatPipelineStatus } from '../../cli/pipeline-status.js'

describe('stack status: pipeline', () => {
  it('lists each group with its total lag and the lag per topic, then the champion', () => {
    const text = formatPipelineStatus({
      lag: [
        { group: 'churn-ingest', total: 0, topics: [{ topic: 'customer.events', lag: 0 }] },
        { group: 'churn-offline-sink', total: 12, topics: [{ topic: 'customer.events', lag: 4 }, { topic: 'customer.features', lag: 8 }] },
      ],
      champion: { version: 'v3' },
    })
    expect(text.split('\n')).toEqual([
      'CONSUMER GROUP      LAG  BY TOPIC',
      'churn-ingest        0    customer.events 0',
      'churn-offline-sink  12   customer.events 4, customer.features 8',
      'champion: v3',
    ])
  })

  it('says when nothing has committed yet, when there is no champion, and why a part could not be read', () => {
    expect(formatPipelineStatus({ lag: [], champion: { version: undefined } })).toBe('consumer lag: no consumer group has committed offsets yet\nchampion: none')
    expect(formatPipelineStatus({ lag: { error: 'connection refused' }, champion: { error: 'no answer within 5000 ms' } })).toBe(
      'consumer lag: unavailable (connection refused)\nchampion: unknown (no answer within 5000 ms)',
    )
  })
})
