import Foundation

/// Reports the progress of a long step on standard error.
///
/// On a terminal it redraws one line: `title [#####.....] 50/100 12.3 it/s ETA 4s message`.
/// When standard error is not a terminal it prints a plain line at most every few seconds, so
/// logs stay readable. It is silent inside test runners, and `KANDINSKY_PROGRESS=off|bar|lines`
/// overrides the choice.
///
/// Thread-safe: workers may call ``advance(by:message:)`` concurrently.
public final class ProgressReporter: @unchecked Sendable {
    /// How progress is shown.
    public enum Style: Sendable {
        /// A single redrawn bar (terminals).
        case bar
        /// Plain periodic lines (logs, pipes).
        case lines
        /// Nothing at all.
        case silent

        /// The style for this process: the `KANDINSKY_PROGRESS` variable if set, silent under a
        /// test runner, a bar on a terminal and lines otherwise.
        public static var automatic: Style {
            switch ProcessInfo.processInfo.environment["KANDINSKY_PROGRESS"] {
            case "off", "silent": return .silent
            case "bar": return .bar
            case "lines": return .lines
            default: break
            }
            let name = ProcessInfo.processInfo.processName
            if name.hasSuffix(".xctest") || name.hasSuffix("PackageTests") || NSClassFromString("XCTestCase") != nil {
                return .silent
            }
            return isatty(FileHandle.standardError.fileDescriptor) == 1 ? .bar : .lines
        }
    }

    private let title: String
    private let total: Int
    private let style: Style
    private let lineInterval: TimeInterval
    private let lock = NSLock()
    private let start = Date()
    private var completed = 0
    private var message = ""
    private var lastDraw = Date.distantPast

    /// Starts reporting a step of `total` units (0 when the total is unknown).
    public init(title: String, total: Int, style: Style = .automatic, lineInterval: TimeInterval = 5) {
        self.title = title
        self.total = total
        self.style = style
        self.lineInterval = lineInterval
    }

    /// Marks `count` more units done and optionally replaces the trailing message.
    public func advance(by count: Int = 1, message: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        completed += count
        if let message { self.message = message }
        draw(final: false)
    }

    /// Replaces the trailing message without advancing.
    public func update(message: String) {
        advance(by: 0, message: message)
    }

    /// Draws the final state and ends the line.
    public func finish(message: String? = nil) {
        lock.lock()
        defer { lock.unlock() }
        if let message { self.message = message }
        draw(final: true)
    }

    /// The text of the current state, as drawn (without the carriage return).
    package var renderedLine: String {
        lock.lock()
        defer { lock.unlock() }
        return render(width: 24)
    }

    private func render(width: Int) -> String {
        let elapsed = max(Date().timeIntervalSince(start), 1e-9)
        let rate = Double(completed) / elapsed
        var parts = [title]
        if total > 0 {
            let fraction = min(Double(completed) / Double(total), 1)
            let filled = Int((fraction * Double(width)).rounded(.down))
            parts.append(
                "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled) + "]")
            parts.append("\(completed)/\(total)")
        } else {
            parts.append("\(completed)")
        }
        parts.append(String(format: "%.1f it/s", rate))
        if total > 0, rate > 0, completed < total {
            parts.append("ETA " + Self.formatDuration(Double(total - completed) / rate))
        } else {
            parts.append("in " + Self.formatDuration(elapsed))
        }
        if !message.isEmpty { parts.append(message) }
        return parts.joined(separator: " ")
    }

    private func draw(final: Bool) {
        let now = Date()
        switch style {
        case .silent:
            return
        case .bar:
            guard final || now.timeIntervalSince(lastDraw) >= 0.1 else { return }
            lastDraw = now
            FileHandle.standardError.write(Data(("\r\u{1B}[K" + render(width: 24) + (final ? "\n" : "")).utf8))
        case .lines:
            guard final || now.timeIntervalSince(lastDraw) >= lineInterval else { return }
            lastDraw = now
            FileHandle.standardError.write(Data((render(width: 24) + "\n").utf8))
        }
    }

    /// `75s` → `1m15s`, `4000s` → `1h06m`.
    static func formatDuration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        if s < 60 { return "\(s)s" }
        if s < 3600 { return "\(s / 60)m\(String(format: "%02d", s % 60))s" }
        return "\(s / 3600)h\(String(format: "%02d", (s % 3600) / 60))m"
    }
}
