import Foundation
import HostBridge
import Metrics
import NIOConcurrencyHelpers
import Node
import Prometheus

/// The node's Prometheus registry. Counters and start-up timers arrive through `factory`
/// (hand it to `Node`); queue depths and events/s are read from the running workflows when
/// scraped, so they are never stale.
public final class NodeMetrics: Sendable {
    /// Every metric of the node; `exposition` renders it for /metrics.
    public let registry = PrometheusCollectorRegistry()
    /// Writes into `registry`; pass it to `Node` so its counters and timers land here.
    public let factory: PrometheusMetricsFactory

    /// Start-up latencies span 5 µs (a prepared instance) to seconds (a large module, cold):
    /// Prometheus' default buckets start at 5 ms and would put every warm start in one bucket.
    static let startupBuckets: [Duration] = [
        .microseconds(10), .microseconds(25), .microseconds(50), .microseconds(100), .microseconds(250), .microseconds(500),
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2.5),
    ]

    /// `edgeless_telemetry`'s histogram buckets: 0.1 s to 1 s.
    static let edgelessBuckets: [Duration] = (1...10).map { .milliseconds(100 * $0) }

    static var queueDepth: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "secure_executor", metricName: "queue_depth", unitName: "",
            helpText: "Casts waiting for a function or resource, including the one being handled")
    }
    static var eventRate: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "secure_executor", metricName: "events_per_second", unitName: "",
            helpText: "Events delivered per second over the last interval of at least one second")
    }

    private struct Sample {
        var at: ContinuousClock.Instant
        var delivered: Int
        var rate: Double
    }

    /// Last delivered-count sample per workflow; a rate is recomputed once at least a second
    /// has passed, so frequent scrapes do not turn it into noise.
    private let samples = NIOLockedValueBox<[String: Sample]>([:])
    private let gauges = NIOLockedValueBox<[String: [Prometheus.Gauge]]>([:])
    private let hostGauges = NIOLockedValueBox<[HostField: Prometheus.Gauge]>([:])

    /// An empty registry, with start-up histogram buckets from 10 µs to 2.5 s.
    public init() {
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets["secure_executor_function_startup"] = Self.startupBuckets
        // EDGELESS's own buckets for its per-component timers, so its dashboards read ours.
        for label in ["execution_times", "transfer_times"] { factory.durationHistogramBuckets[label] = Self.edgelessBuckets }
        self.factory = factory
        unauthorized = registry.makeCounter(
            name: "secure_executor_api_unauthorized_total",
            help: "Node API requests refused for a missing or wrong bearer token")
    }

    /// Delivered events per second since the last sample at least 1 s old; 0 on the first call
    /// for a workflow, and the previous rate when called again within the second.
    public func eventsPerSecond(of workflow: Node.RunningWorkflow) -> Double {
        let delivered = workflow.dataplane.counts.delivered
        let now = ContinuousClock.now
        return samples.withLockedValue { samples in
            guard var sample = samples[workflow.id] else {
                samples[workflow.id] = Sample(at: now, delivered: delivered, rate: 0)
                return 0
            }
            let elapsed = (now - sample.at).seconds
            if elapsed >= 1 {
                sample = Sample(at: now, delivered: delivered, rate: Double(delivered - sample.delivered) / elapsed)
                samples[workflow.id] = sample
            }
            return sample.rate
        }
    }

    /// The Prometheus text exposition, with the per-scrape gauges refreshed first. Host figures
    /// that are unknown are left out (never exported as 0) and flagged in
    /// `secure_executor_host_value_unknown{field}`.
    public func exposition(node: Node, host: [(field: HostField, reading: HostReading)]? = nil) -> [UInt8] {
        if let host { refreshHostGauges(host) }
        let workflows = node.workflows
        gauges.withLockedValue { gauges in
            let running = Set(workflows.map(\.id))
            for (id, stale) in gauges where !running.contains(id) {
                stale.forEach(registry.unregisterGauge)
                gauges[id] = nil
                samples.withLockedValue { $0[id] = nil }
            }
            for workflow in workflows {
                var made: [Prometheus.Gauge] = []
                for (target, depth) in workflow.dataplane.queueDepths {
                    let gauge = registry.makeGauge(descriptor: Self.queueDepth, labels: [("workflow", workflow.id), ("target", target)])
                    gauge.set(Double(depth))
                    made.append(gauge)
                }
                let rate = registry.makeGauge(descriptor: Self.eventRate, labels: [("workflow", workflow.id)])
                rate.set(eventsPerSecond(of: workflow))
                made.append(rate)
                gauges[workflow.id] = made
            }
        }
        return registry.emitToBuffer()
    }

    private func refreshHostGauges(_ readings: [(field: HostField, reading: HostReading)]) {
        hostGauges.withLockedValue { gauges in
            for (field, reading) in readings {
                if case .text = reading { continue }
                let unknown = registry.makeGauge(descriptor: Self.hostUnknown, labels: [("field", field.wireName)])
                if case let .number(value) = reading {
                    let gauge =
                        gauges[field]
                        ?? registry.makeGauge(
                            descriptor: MetricNameDescriptor(
                                namespace: "secure_executor", subsystem: "host", metricName: field.wireName, unitName: "",
                                helpText: "\(field.label), from the host agent, checked"))
                    gauge.set(value)
                    gauges[field] = gauge
                    unknown.set(0.0)
                } else {
                    if let stale = gauges.removeValue(forKey: field) { registry.unregisterGauge(stale) }
                    unknown.set(1.0)
                }
            }
        }
    }

    /// Node API requests refused for a missing or wrong credential.
    let unauthorized: Prometheus.Counter

    static var hostUnknown: MetricNameDescriptor {
        MetricNameDescriptor(
            namespace: "secure_executor", metricName: "host_value_unknown", unitName: "",
            helpText: "1 when the host agent's figure for this field is unknown (not reported, or refused by the plausibility checks)")
    }
}
