export { ModelRegistry, transitions, type Alias, type AliasState, type ModelVersion, type RegisterRequest, type Transition, type TransitionListener, type TransitionRecord } from './registry.js'
export { ModelEventPublisher } from './model-events.js'
export { evaluateGate, defaultGatePolicy, type GateDecision, type GatePolicy, type HoldoutScores } from './gate.js'
