export { EventPublisher, type EventPublisherDependencies } from './publisher.js'
export { publisherOptionsSchema, parsePublisherOptions, type PublisherOptions, type PublisherOptionsInput } from './options.js'
export { PublishTransportError, PublishValidationError, type PublishReceipt } from './types.js'
