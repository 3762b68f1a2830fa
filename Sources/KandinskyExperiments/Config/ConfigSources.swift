/// Which file or override set each key of a composed configuration, for error messages.
///
/// Every mapping and leaf a file or override contributes is recorded under its dotted path
/// (a later file or override replaces the record, as it replaces the value); a list's items
/// share the list's record. A key whose value was a single reference `${other.key}` is traced
/// to the source of `other.key`, so `calibration.bounds: ${bounds}` is blamed on whoever set
/// `bounds`.
package struct ConfigSources: Sendable, Equatable {
    private var origins: [String: String] = [:]
    private var references: [String: String] = [:]

    package init() {}

    /// Records `source` for `node` and everything under it, at `path`.
    mutating func record(_ node: ConfigNode, at path: [String], source: String) {
        if !path.isEmpty { origins[path.joined(separator: ".")] = source }
        guard case .map(let entries) = node else { return }
        for (key, value) in entries { record(value, at: path + [key], source: source) }
    }

    /// Notes every value of the (uninterpolated) tree that is exactly one `${key}` reference.
    mutating func recordReferences(in node: ConfigNode, at path: [String] = []) {
        switch node {
        case .map(let entries):
            for (key, value) in entries { recordReferences(in: value, at: path + [key]) }
        case .scalar(let text, _) where text.hasPrefix("${") && text.hasSuffix("}") && !text.hasPrefix("${oc."):
            let inner = text.dropFirst(2).dropLast()
            if !inner.contains("${") && !inner.contains("}") { references[path.joined(separator: ".")] = String(inner) }
        default:
            break
        }
    }

    /// The file or override that set `key` (or the nearest enclosing key), following references:
    /// "built-in config calibrate.yaml, via '${bounds}' in built-in config calibration/default.yaml".
    package func source(of key: String) -> String? {
        var components = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        var via: String?  // the first reference followed, and where it was written
        for _ in 0..<32 {
            var found: String?
            var followed = false
            for length in stride(from: components.count, through: 1, by: -1) {
                let prefix = components[..<length].joined(separator: ".")
                if let target = references[prefix] {
                    via = via ?? "'${\(target)}'" + (origins[prefix].map { " in \($0)" } ?? "")
                    components =
                        target.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
                        + components[length...]
                    followed = true
                    break
                }
                if let origin = origins[prefix] {
                    found = origin
                    break
                }
            }
            if !followed {
                guard let found else { return nil }
                return found + (via.map { ", via \($0)" } ?? "")
            }
        }
        return nil
    }
}
