import Foundation

/// A composed, interpolated configuration with typed access by dotted key path.
///
/// Reading a key whose value is `???` throws ``ConfigError`` naming the key; so does reading a
/// value of the wrong type. The keys the tool reads are declared, with their types and ranges,
/// in the package's configuration schema (`kandinsky help-config` prints it); the runs read them
/// through it, so a value is checked wherever it is read.
public struct Config: Sendable, Equatable {
    /// The whole tree.
    public var root: ConfigNode
    /// Which file or override set each key (empty for a tree built in code).
    package var sources: ConfigSources

    /// A configuration over an already composed tree (see ``ConfigComposer`` for composing one from files).
    public init(root: ConfigNode) {
        self.init(root: root, sources: ConfigSources())
    }

    package init(root: ConfigNode, sources: ConfigSources) {
        self.root = root
        self.sources = sources
    }

    /// The node at a dotted key path, if present (nil for an absent key).
    public func node(_ key: String) -> ConfigNode? {
        root.node(at: key.split(separator: ".").map(String.init)[...])
    }

    func present(_ key: String) throws(ConfigError) -> ConfigNode {
        guard let node = node(key) else {
            throw .unknownKey(key, suggestion: ConfigComposer.closest(to: key, among: root.allKeyPaths))
        }
        if node.isMissingMarker { throw .missingValue(key) }
        return node
    }

    /// Whether the key is absent or null.
    public func isNull(_ key: String) -> Bool {
        switch node(key) {
        case nil, .null?: true
        default: false
        }
    }

    /// A string value (any scalar's text).
    public func string(_ key: String) throws(ConfigError) -> String {
        try scalarText(key, expected: "a string")
    }

    private func scalarText(_ key: String, expected: String) throws(ConfigError) -> String {
        switch try present(key) {
        case .scalar(let text, _): return text
        case let other: throw .wrongType(key, expected: expected, found: other.summary, source: sources.source(of: key))
        }
    }

    /// A string value, or nil when the key is absent or null.
    public func optionalString(_ key: String) throws(ConfigError) -> String? {
        isNull(key) ? nil : try string(key)
    }

    /// An integer value (a quoted number such as `"1000"` is accepted).
    public func int(_ key: String) throws(ConfigError) -> Int {
        try scalar(key, expected: "an integer") { Int($0) }
    }

    /// An integer value, or nil when the key is absent or null.
    public func optionalInt(_ key: String) throws(ConfigError) -> Int? {
        isNull(key) ? nil : try int(key)
    }

    /// A floating-point value (YAML spellings such as `1e-4` and `5e-1` included).
    public func double(_ key: String) throws(ConfigError) -> Double {
        try scalar(key, expected: "a number") { Double($0) }
    }

    /// The scalar at `key` read by `parse`; a ``ConfigError/Code/wrongType`` error naming
    /// `expected` and the text found when it does not read.
    private func scalar<Value>(_ key: String, expected: String, _ parse: (String) -> Value?) throws(ConfigError)
        -> Value
    {
        let text = try scalarText(key, expected: expected)
        guard let value = parse(text) else {
            throw .wrongType(
                key, expected: expected, found: "'\(ConfigLimits.abbreviated(text))'",
                source: sources.source(of: key))
        }
        return value
    }

    /// A boolean (`true`/`false`, any capitalisation).
    public func bool(_ key: String) throws(ConfigError) -> Bool {
        let text = try scalarText(key, expected: "true or false")
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default:
            throw .wrongType(
                key, expected: "true or false", found: "'\(ConfigLimits.abbreviated(text))'",
                source: sources.source(of: key))
        }
    }

    /// A list of numbers.
    public func doubles(_ key: String) throws(ConfigError) -> [Double] {
        try list(key, expected: "a list of numbers") { Double($0) }
    }

    /// A list of strings (each scalar's text).
    public func strings(_ key: String) throws(ConfigError) -> [String] {
        try list(key, expected: "a list of strings") { $0 }
    }

    /// The list at `key`, each item a scalar read by `parse`; a ``ConfigError/Code/wrongType``
    /// error naming `expected` and the node found when `key` is not a list, or naming the whole
    /// list when one of its items is not a scalar or does not read.
    private func list<Value>(_ key: String, expected: String, _ parse: (String) -> Value?) throws(ConfigError)
        -> [Value]
    {
        guard case .list(let items) = try present(key) else {
            throw .wrongType(
                key, expected: expected, found: node(key)?.summary ?? "nothing", source: sources.source(of: key))
        }
        var values: [Value] = []
        for item in items {
            guard case .scalar(let text, _) = item, let value = parse(text) else {
                throw .wrongType(
                    key, expected: expected, found: ConfigNode.list(items).summary, source: sources.source(of: key))
            }
            values.append(value)
        }
        return values
    }

    /// A list of integers.
    public func ints(_ key: String) throws(ConfigError) -> [Int] {
        let values = try doubles(key)
        guard values.allSatisfy({ $0 == $0.rounded() && abs($0) < 0x1p62 }) else {
            throw .wrongType(
                key, expected: "a list of integers", found: ConfigLimits.abbreviated(values.description),
                source: sources.source(of: key))
        }
        return values.map { Int($0) }
    }

    /// A list of lists of numbers (e.g. bounds).
    public func doubleMatrix(_ key: String) throws(ConfigError) -> [[Double]] {
        guard case .list(let rows) = try present(key) else {
            throw .wrongType(
                key, expected: "a list of lists of numbers", found: node(key)?.summary ?? "nothing",
                source: sources.source(of: key))
        }
        var matrix: [[Double]] = []
        for (index, _) in rows.enumerated() {
            matrix.append(try doubles("\(key).\(index)"))
        }
        return matrix
    }

    /// Throws for the first `???` value left anywhere in the tree.
    public func requireComplete() throws(ConfigError) {
        func walk(_ node: ConfigNode, _ path: [String]) throws(ConfigError) {
            switch node {
            case .map(let entries): for (key, value) in entries { try walk(value, path + [key]) }
            case .list(let items): for (index, item) in items.enumerated() { try walk(item, path + ["\(index)"]) }
            default: if node.isMissingMarker { throw .missingValue(path.joined(separator: ".")) }
            }
        }
        try walk(root, [])
    }

    /// The configuration as YAML, as saved with every run.
    public var yaml: String { root.yaml() }
}

extension ConfigNode {
    /// Lists are indexed by number in key paths (`bounds.0`).
    func child(_ key: String) -> ConfigNode? {
        switch self {
        case .map: return self[key]
        case .list(let items): return Int(key).flatMap { items.indices.contains($0) ? items[$0] : nil }
        default: return nil
        }
    }
}
