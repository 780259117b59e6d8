import type { Command } from 'commander'
import { topicConfig } from '../schemas/catalog.js'
import { registerSchemas } from '../schemas/registration.js'
import { applyTopics } from '../schemas/topic-admin.js'
import { commandContext } from './context.js'

export function registerContractCommands(program: Command): void {
  const topics = program.command('topics').description('the topic catalog')

  topics
    .command('list')
    .description('every topic: partitions, retention or compaction, key and value schema')
    .action(() => {
      const { catalog } = commandContext('churn-topics')
      for (const topic of catalog.topics) {
        const config = Object.entries(topicConfig(topic)).map(([name, value]) => `${name}=${value}`).join(' ')
        console.log(`${topic.name.padEnd(34)} partitions=${String(topic.partitions).padEnd(3)} key=${topic.key.padEnd(14)} value=${(topic.schema ?? 'original bytes + error headers').padEnd(16)} ${config}`)
      }
    })

  topics
    .command('apply')
    .description('create missing topics and bring existing ones to the catalog (idempotent)')
    .action(async () => {
      const { kafka, catalog } = commandContext('churn-topics')
      const admin = kafka.admin()
      await admin.connect()
      try {
        const report = await applyTopics(admin, catalog.topics)
        for (const name of report.created) console.log(`created   ${name}`)
        for (const { topic, changes } of report.updated) console.log(`updated   ${topic}: ${changes.join(', ')}`)
        for (const name of report.unchanged) console.log(`unchanged ${name}`)
        for (const warning of report.warnings) console.warn(`warning: ${warning}`)
      } finally {
        await admin.disconnect()
      }
    })

  program
    .command('schemas')
    .description('the Avro contracts')
    .command('register')
    .description('register every topic schema (subject <topic>-value, BACKWARD); refuses an incompatible change')
    .action(async () => {
      const { registry, catalog, config } = commandContext('churn-schemas')
      for (const { subject, id } of await registerSchemas(registry, config.SCHEMA_REGISTRY_URL, catalog.topics)) {
        console.log(`${subject.padEnd(40)} id ${id}`)
      }
    })
}
