import Yams

/// A configuration value: the YAML data model with ordered mappings.
///
/// Scalars keep their YAML spelling (`.scalar`) plus whether they were quoted, so `"1000"` stays
/// a string while `1000` reads as a number; typed access happens in ``Config``.
public enum ConfigNode: Sendable, Equatable {
    /// `null`, `~` or an empty value.
    case null
    /// A scalar as spelled in the file, and whether it was quoted.
    case scalar(String, quoted: Bool)
    /// A sequence.
    case list([ConfigNode])
    /// A mapping, in file order.
    case map([(key: String, value: ConfigNode)])

    /// Structural equality; maps compare their entries in order, since key order is part of a YAML document.
    public static func == (lhs: ConfigNode, rhs: ConfigNode) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): true
        case let (.scalar(a, qa), .scalar(b, qb)): a == b && qa == qb
        case let (.list(a), .list(b)): a == b
        case let (.map(a), .map(b)): a.map(\.key) == b.map(\.key) && a.map(\.value) == b.map(\.value)
        default: false
        }
    }

    /// The value under `key` of a mapping.
    public subscript(key: String) -> ConfigNode? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    /// The keys of a mapping, in order (empty for other nodes).
    public var keys: [String] {
        guard case .map(let entries) = self else { return [] }
        return entries.map(\.key)
    }

    /// Whether this is the `???` marker of a required value.
    var isMissingMarker: Bool {
        if case .scalar("???", false) = self { return true }
        return false
    }

    /// Sets `value` at a key path, creating intermediate mappings when `create` is true.
    ///
    /// - Returns: false when a key on the path does not exist and `create` is false.
    mutating func set(_ value: ConfigNode, at path: ArraySlice<String>, create: Bool) -> Bool {
        guard let key = path.first else {
            self = value
            return true
        }
        if case .null = self, create { self = .map([]) }
        guard case .map(var entries) = self else { return false }
        if let index = entries.firstIndex(where: { $0.key == key }) {
            guard entries[index].value.set(value, at: path.dropFirst(), create: create) else { return false }
        } else {
            guard create else { return false }
            var child = ConfigNode.null
            _ = child.set(value, at: path.dropFirst(), create: true)
            entries.append((key, child))
        }
        self = .map(entries)
        return true
    }

    /// The node at a key path.
    func node(at path: ArraySlice<String>) -> ConfigNode? {
        guard let key = path.first else { return self }
        return child(key)?.node(at: path.dropFirst())
    }

    /// `other` merged into `self`: mappings merge key by key (recursively), anything else is
    /// replaced, as OmegaConf merges configs.
    func merged(with other: ConfigNode) -> ConfigNode {
        guard case .map(var entries) = self, case .map(let incoming) = other else { return other }
        for (key, value) in incoming {
            if let index = entries.firstIndex(where: { $0.key == key }) {
                entries[index].value = entries[index].value.merged(with: value)
            } else {
                entries.append((key, value))
            }
        }
        return .map(entries)
    }

    /// Every dotted key path of the leaves and mappings, for suggestions.
    var allKeyPaths: [String] {
        guard case .map(let entries) = self else { return [] }
        return entries.flatMap { key, value in [key] + value.allKeyPaths.map { "\(key).\($0)" } }
    }

    // MARK: YAML

    /// Converts a parsed YAML node, expanding aliases, within `budget`; `level` is the node's
    /// nesting, which aliases of deep collections placed deep can push past what the text shows.
    init(yaml node: Node, budget: inout NodeBudget, level: Int = 0) throws(ConfigError) {
        try budget.spend()
        guard level <= ConfigLimits.maximumDepth else { throw .tooDeep(budget.source + " (with its aliases expanded)") }
        switch node {
        case .scalar(let scalar):
            let quoted = scalar.style == .singleQuoted || scalar.style == .doubleQuoted
            if !quoted, ["null", "~", "Null", "NULL", ""].contains(scalar.string) {
                self = .null
            } else {
                self = .scalar(scalar.string, quoted: quoted)
            }
        case .sequence(let sequence):
            var items: [ConfigNode] = []
            for item in sequence { items.append(try ConfigNode(yaml: item, budget: &budget, level: level + 1)) }
            self = .list(items)
        case .mapping(let mapping):
            var entries: [(key: String, value: ConfigNode)] = []
            for pair in mapping {
                try budget.spend()
                entries.append(
                    (
                        key: pair.key.string ?? "\(pair.key)",
                        value: try ConfigNode(yaml: pair.value, budget: &budget, level: level + 1)
                    ))
            }
            self = .map(entries)
        }
    }

    /// Parses YAML text; an empty document is an empty mapping.
    ///
    /// `file` names the document in errors (a file's path, or the override). Text nested deeper
    /// than ``ConfigLimits/maximumDepth`` is refused before libyaml sees it (it would overflow the
    /// stack); aliases are expanded into at most ``ConfigLimits/maximumNodeCount`` values (libyaml
    /// shares them, so parsing is linear in the text; the copy into the tree is what is bounded).
    static func parse(yaml text: String, file: String) throws(ConfigError) -> ConfigNode {
        let depth = ConfigLimits.nestingDepth(of: text)
        guard depth <= ConfigLimits.maximumDepth else { throw .tooDeep(file) }
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch {
            throw ConfigError.malformedFile(
                file, "\(error)".split(separator: "\n").first.map(String.init) ?? "invalid YAML",
                underlying: error)
        }
        guard let node else { return .map([]) }
        var budget = NodeBudget(source: file)
        return try ConfigNode(yaml: node, budget: &budget)
    }

    /// A short description for messages: a scalar's text, a list's or mapping's outline ("a
    /// section with keys a, b, c") instead of the whole subtree.
    var summary: String {
        switch self {
        case .null: return "null"
        case .scalar(let text, _): return "'\(ConfigLimits.abbreviated(text))'"
        case .list(let items):
            if items.allSatisfy({ if case .scalar = $0 { true } else if case .null = $0 { true } else { false } }) {
                return ConfigLimits.abbreviated(yaml())
            }
            return "a list of \(items.count) items"
        case .map(let entries):
            if entries.isEmpty { return "an empty section" }
            let names = entries.prefix(6).map(\.key).joined(separator: ", ")
            return "a section with keys \(names)" + (entries.count > 6 ? ", …" : "")
        }
    }

    /// The node as YAML text (block style, keys in order).
    func yaml(indent: Int = 0) -> String {
        let pad = String(repeating: " ", count: indent)
        switch self {
        case .map(let entries):
            if entries.isEmpty { return "{}" }
            return entries.map { key, value in
                switch value {
                case .map(let e) where !e.isEmpty: "\(pad)\(key):\n" + value.yaml(indent: indent + 2)
                case .list(let l) where !l.isEmpty && l.contains(where: { if case .map = $0 { true } else { false } }):
                    "\(pad)\(key):\n" + value.yaml(indent: indent + 2)
                default: "\(pad)\(key): \(value.yaml(indent: indent + 2))"
                }
            }.joined(separator: "\n") + (indent == 0 ? "\n" : "")
        case .list(let items):
            if items.contains(where: { if case .map = $0 { true } else { false } }) {
                return items.map { item in
                    let body = item.yaml(indent: indent + 2)
                    return "\(pad)- " + body.drop(while: { $0 == " " })
                }.joined(separator: "\n")
            }
            return "[" + items.map { $0.yaml() }.joined(separator: ", ") + "]"
        case .null:
            return "null"
        case .scalar(let text, let quoted):
            if quoted || Self.needsQuotes(text) {
                return "\""
                    + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                    + "\""
            }
            return text
        }
    }

    private static func needsQuotes(_ text: String) -> Bool {
        text.isEmpty || text.contains(": ") || text.contains("#") || text.hasPrefix("{") || text.hasPrefix("[")
            || text.hasPrefix("*") || text.hasPrefix("&") || text.hasPrefix("!")
            || text.hasPrefix("-") && Double(text) == nil
            || text.hasPrefix("$")
    }
}
