import kafkajs, { type Admin } from 'kafkajs'
import { topicConfig, type TopicSpec } from './catalog.js'

// kafkajs is CommonJS and this export is not visible to Node's named-export detection.
const { ConfigResourceTypes } = kafkajs

export interface ApplyReport {
  created: string[]
  updated: { topic: string; changes: string[] }[]
  unchanged: string[]
  warnings: string[]
}

/**
 * Creates missing topics and brings existing ones to their spec: more partitions when asked
 * (never fewer: that would re-key customers), and configuration. Safe to run any number of times.
 */
export async function applyTopics(admin: Admin, specs: TopicSpec[]): Promise<ApplyReport> {
  const report: ApplyReport = { created: [], updated: [], unchanged: [], warnings: [] }
  const existing = new Set(await admin.listTopics())
  const missing = specs.filter((spec) => !existing.has(spec.name))
  if (missing.length > 0) {
    await admin.createTopics({
      // KafkaJS's own wait gives up on the UNKNOWN_TOPIC_OR_PARTITION a fresh topic can still answer; ours retries.
      waitForLeaders: false,
      topics: missing.map((spec) => ({
        topic: spec.name,
        numPartitions: spec.partitions,
        configEntries: Object.entries(topicConfig(spec)).map(([name, value]) => ({ name, value })),
      })),
    })
    report.created.push(...missing.map((spec) => spec.name))
    await waitForLeaders(admin, missing.map((spec) => spec.name))
  }
  const present = specs.filter((spec) => existing.has(spec.name))
  if (present.length === 0) return report

  const metadata = await admin.fetchTopicMetadata({ topics: present.map((spec) => spec.name) })
  const configs = await admin.describeConfigs({
    includeSynonyms: false,
    resources: present.map((spec) => ({ type: ConfigResourceTypes.TOPIC, name: spec.name })),
  })
  for (const spec of present) {
    const changes: string[] = []
    const partitions = metadata.topics.find((topic) => topic.name === spec.name)?.partitions.length ?? 0
    if (partitions < spec.partitions) {
      await admin.createPartitions({ topicPartitions: [{ topic: spec.name, count: spec.partitions }] })
      // Producers keyed by partition count must see the new partitions as soon as this returns.
      await waitForLeaders(admin, [spec.name], 15_000, spec.partitions)
      changes.push(`partitions ${partitions} -> ${spec.partitions}`)
    } else if (partitions > spec.partitions) {
      report.warnings.push(`${spec.name} has ${partitions} partitions, more than the ${spec.partitions} asked for; partitions are never removed`)
    }
    const current = new Map(
      (configs.resources.find((resource) => resource.resourceName === spec.name)?.configEntries ?? []).map((entry) => [entry.configName, entry.configValue]),
    )
    const wanted = topicConfig(spec)
    const differing = Object.entries(wanted).filter(([name, value]) => current.get(name) !== value)
    if (differing.length > 0) {
      // AlterConfigs replaces a topic's dynamic configuration as a whole, so send every wanted entry.
      await admin.alterConfigs({
        validateOnly: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: spec.name, configEntries: Object.entries(wanted).map(([name, value]) => ({ name, value })) }],
      })
      changes.push(...differing.map(([name, value]) => `${name} ${current.get(name) ?? '(default)'} -> ${value}`))
    }
    if (changes.length > 0) report.updated.push({ topic: spec.name, changes })
    else report.unchanged.push(spec.name)
  }
  return report
}

/**
 * A new topic, or a topic's new partitions, can still be unknown to a broker's metadata cache for a
 * moment after creation, and KafkaJS does not retry UNKNOWN_TOPIC_OR_PARTITION everywhere; wait until
 * every topic has at least `minPartitions` partitions, each with a leader.
 */
async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 15_000, minPartitions = 1): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      const metadata = await admin.fetchTopicMetadata({ topics })
      if (metadata.topics.length === topics.length && metadata.topics.every((topic) => topic.partitions.length >= minPartitions && topic.partitions.every((partition) => partition.leader >= 0))) return
    } catch (error) {
      if (Date.now() >= deadline) throw error
    }
    if (Date.now() >= deadline) throw new Error(`topics without leaders after ${timeoutMs} ms: ${topics.join(', ')}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}
