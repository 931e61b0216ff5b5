/// Polls `condition` until it holds or `seconds` pass: tests wait on conditions, not sleeps.
public func eventually(within seconds: Int, _ condition: () -> Bool) async throws -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return condition()
}
