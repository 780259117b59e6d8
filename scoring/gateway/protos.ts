import { join } from 'node:path'
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader'
import { protoPath as healthProtoPath } from 'grpc-health-check'
import { projectRoot } from '../../core/config.js'

/** Where the gateway's `.proto` files live: `proto/` at the project root (from sources and from `dist/`). */
export const protoDir = join(projectRoot, 'proto')

export const protoFiles = {
  churn: 'churn/v1/churn.proto',
  inference: 'inference/grpc_predict_v2.proto',
} as const

export const serviceNames = {
  scoring: 'churn.v1.ScoringService',
  inference: 'inference.GRPCInferenceService',
  health: 'grpc.health.v1.Health',
} as const

/**
 * How messages map to JavaScript: field names as written in the proto (snake_case), int64 as
 * numbers (times in ms, tensor shapes), enums as their names, unset fields as their defaults, and
 * a oneof's chosen field named by a virtual property.
 */
export const loaderOptions: Options = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true, includeDirs: [protoDir] }

let cached: PackageDefinition | undefined

/** Every service the gateway serves (health included, so reflection describes it too), loaded once. */
export function gatewayPackageDefinition(): PackageDefinition {
  cached ??= loadSync([protoFiles.churn, protoFiles.inference, healthProtoPath], loaderOptions)
  return cached
}
