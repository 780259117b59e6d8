import { driftRole } from '../consumers/drift/index.js'
import { startIngest } from '../consumers/ingest/index.js'
import { offlineSinkRole } from '../consumers/offline-sink/index.js'
import { scorerOptionsFromConfig, startScorer } from '../consumers/scorer/index.js'
import type { RoleDefinition } from '../consumers/runtime/context.js'
import { trainerRole } from '../consumers/trainer/index.js'
import { churnFeatures } from '../feature-store/declarations.js'
import { FeatureSet } from '../feature-store/feature-set.js'
import { gatewayOptionsFromConfig, startGateway } from '../scoring/gateway/index.js'

/** Every role `churn run` can start, in start order (producers of a topic before its consumers). */
export const roles: readonly RoleDefinition[] = [
  {
    name: 'ingest',
    description: 'customer.events -> Redis online features + customer.features changelog (exactly once)',
    start: (context) =>
      startIngest(context, new FeatureSet(churnFeatures), {
        groupId: `${context.config.TOPIC_PREFIX}churn-ingest`,
        keyPrefix: context.config.ONLINE_KEY_PREFIX,
        maxBytesPerPartition: context.config.INGEST_MAX_BYTES_PER_PARTITION,
        sessionTimeoutMs: context.config.KAFKA_SESSION_TIMEOUT_MS,
      }),
  },
  offlineSinkRole(),
  {
    name: 'scorer',
    description: 'customer.features -> churn.scores (+ churn.scores.shadow) with the champion and its fallbacks, hot-swapped (exactly once)',
    start: (context) => startScorer(context, new FeatureSet(churnFeatures), scorerOptionsFromConfig(context.config)),
  },
  driftRole(),
  trainerRole(new FeatureSet(churnFeatures)),
  {
    name: 'gateway',
    description: 'gRPC: churn.v1 scoring (by id from Redis, raw, many, explain, score stream, model info), Open Inference Protocol, health, reflection',
    start: (context) => startGateway(context, new FeatureSet(churnFeatures), gatewayOptionsFromConfig(context.config)),
  },
]

export function roleNames(): string[] {
  return roles.map((role) => role.name)
}
