/**
 * `@streamer/opentelemetry`: OpenTelemetry traces and metrics for streamer, built on the
 * diagnostics channels `@streamer/core` publishes. See docs/observability.md.
 */
export {
  registerStreamerInstrumentation,
  StreamerInstrumentation,
  type StreamerInstrumentationConfig,
} from './instrumentation.js';
export { ATTRIBUTES, LAG_GAUGE, METRICS } from './names.js';
