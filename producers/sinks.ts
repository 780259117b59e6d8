import { createWriteStream, type WriteStream } from 'node:fs'
import { once } from 'node:events'
import type { CustomerEvent } from '../schemas/events.js'
import type { EventPublisher } from './publisher/index.js'

/** Where generated or imported events go: Kafka, or a JSON-lines file. */
export interface EventSink {
  write(events: readonly CustomerEvent[]): Promise<void>
  close(): Promise<void>
}

export class PublisherSink implements EventSink {
  constructor(private readonly publisher: EventPublisher) {}

  async write(events: readonly CustomerEvent[]): Promise<void> {
    if (events.length > 0) await this.publisher.publishBatch(events)
  }

  close(): Promise<void> {
    return this.publisher.close()
  }
}

/** JSON lines, one event per line, in the format `churn publish` reads back. */
export class FileSink implements EventSink {
  readonly #stream: WriteStream
  #closing: Promise<void> | undefined

  constructor(path: string) {
    this.#stream = createWriteStream(path, { encoding: 'utf8' })
  }

  async write(events: readonly CustomerEvent[]): Promise<void> {
    if (events.length === 0) return
    const text = events.map((event) => JSON.stringify(event)).join('\n') + '\n'
    if (!this.#stream.write(text)) await once(this.#stream, 'drain')
  }

  close(): Promise<void> {
    this.#closing ??= new Promise((resolve, reject) => {
      this.#stream.once('error', reject)
      this.#stream.end(resolve)
    })
    return this.#closing
  }
}
