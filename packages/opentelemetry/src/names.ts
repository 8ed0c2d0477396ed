/** The span attributes used, from the OpenTelemetry messaging semantic conventions. */
export const ATTRIBUTES = {
  system: 'messaging.system',
  destination: 'messaging.destination.name',
  partition: 'messaging.destination.partition.id',
  messageId: 'messaging.message.id',
  operationType: 'messaging.operation.type',
  operationName: 'messaging.operation.name',
  group: 'messaging.consumer.group.name',
  bodySize: 'messaging.message.body.size',
  batchCount: 'messaging.batch.message_count',
  errorType: 'error.type',
  /** Not in the conventions: how often a message was delivered (Redis counts redeliveries). */
  deliveryCount: 'streamer.message.delivery_count',
} as const;

/** The metric instruments, named as in the messaging semantic conventions. */
export const METRICS = {
  sent: 'messaging.client.sent.messages',
  consumed: 'messaging.client.consumed.messages',
  processDuration: 'messaging.process.duration',
  operationDuration: 'messaging.client.operation.duration',
} as const;

/** The conventions have no lag metric yet: this gauge is streamer's own. */
export const LAG_GAUGE = 'streamer.consumer.lag';
