/** server.properties for one combined KRaft broker+controller on loopback. */
export function kafkaServerProperties(settings: { host: string; port: number; controllerPort: number; dataDir: string }): string {
  const { host, port, controllerPort, dataDir } = settings
  return [
    '# Written by `churn stack up`; edits are overwritten.',
    'process.roles=broker,controller',
    'node.id=1',
    `controller.quorum.voters=1@${host}:${controllerPort}`,
    `listeners=PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    `advertised.listeners=PLAINTEXT://${host}:${port}`,
    'controller.listener.names=CONTROLLER',
    'inter.broker.listener.name=PLAINTEXT',
    'listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    `log.dirs=${dataDir}`,
    'num.partitions=3',
    'auto.create.topics.enable=false',
    // One node: internal topics cannot have more replicas or a larger ISR than that, or
    // consumer groups and transactions never become available.
    'offsets.topic.replication.factor=1',
    'offsets.topic.num.partitions=10',
    'transaction.state.log.replication.factor=1',
    'transaction.state.log.min.isr=1',
    'transaction.state.log.num.partitions=10',
    'share.coordinator.state.topic.replication.factor=1',
    'share.coordinator.state.topic.min.isr=1',
    'default.replication.factor=1',
    'min.insync.replicas=1',
    'group.initial.rebalance.delay.ms=0',
    // Short transactional and group timeouts keep crash tests and restarts quick on a dev machine.
    'transaction.abort.timed.out.transaction.cleanup.interval.ms=10000',
    'log.segment.bytes=67108864',
    'log.retention.check.interval.ms=60000',
    '',
  ].join('\n')
}

export const kafkaLog4j2 = `Configuration:
  status: warn
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.log
        level: WARN
      - name: org.apache.kafka.storage
        level: WARN
      - name: kafka.coordinator
        level: WARN
      - name: org.apache.kafka.coordinator
        level: WARN
`
