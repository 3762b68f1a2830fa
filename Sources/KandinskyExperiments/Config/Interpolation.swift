import Foundation

/// Resolves `${…}` interpolations in a composed configuration tree.
///
/// `${a.b}` alone as a value is replaced by the node at `a.b` (so lists and numbers keep their
/// type); inside a longer string it is replaced by the scalar's text. `${oc.env:VAR}` reads an
/// environment variable and `${oc.env:VAR,default}` falls back to `default`.
///
/// A reference copies the node it names, so references to references multiply like YAML
/// aliases: the resolved tree is held to ``ConfigLimits/maximumNodeCount`` values and
/// ``ConfigLimits/maximumDepth`` levels, and chains of references to 32 steps (deeper is taken
/// for a cycle).
struct Interpolation {
    let root: ConfigNode
    let environment: [String: String]
    private var budget = NodeBudget(source: "the interpolated configuration")
    /// The references being resolved, innermost last, to name a cycle by its keys.
    private var resolving: [String] = []

    init(root: ConfigNode, environment: [String: String]) {
        self.root = root
        self.environment = environment
    }

    mutating func resolve() throws(ConfigError) -> ConfigNode {
        try resolve(root, path: [], depth: 0, level: 0)
    }

    private mutating func resolve(_ node: ConfigNode, path: [String], depth: Int, level: Int) throws(ConfigError)
        -> ConfigNode
    {
        guard depth < 32 else {
            throw .badInterpolation(key: path.joined(separator: "."), "is part of an interpolation cycle")
        }
        guard level <= ConfigLimits.maximumDepth else {
            throw .tooDeep("the interpolated value of '\(ConfigLimits.abbreviated(path.joined(separator: ".")))'")
        }
        try budget.spend()
        switch node {
        case .map(let entries):
            var resolved: [(key: String, value: ConfigNode)] = []
            for (key, value) in entries {
                resolved.append((key, try resolve(value, path: path + [key], depth: depth, level: level + 1)))
            }
            return .map(resolved)
        case .list(let items):
            var resolved: [ConfigNode] = []
            for (index, item) in items.enumerated() {
                resolved.append(try resolve(item, path: path + ["\(index)"], depth: depth, level: level + 1))
            }
            return .list(resolved)
        case .scalar(let text, let quoted) where text.contains("${"):
            return try interpolate(text, quoted: quoted, key: path.joined(separator: "."), depth: depth, level: level)
        default:
            return node
        }
    }

    private mutating func interpolate(_ text: String, quoted: Bool, key: String, depth: Int, level: Int)
        throws(ConfigError) -> ConfigNode
    {
        var output = ""
        var rest = Substring(text)
        var pieces = 0
        var single: ConfigNode?
        while let start = rest.range(of: "${") {
            output += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].firstIndex(of: "}") else {
                throw .badInterpolation(
                    key: key, "has an unterminated interpolation in '\(ConfigLimits.abbreviated(text))'")
            }
            let expression = String(rest[start.upperBound..<end])
            let value = try evaluate(expression, key: key, depth: depth, level: level)
            single = value
            pieces += 1
            switch value {
            case .scalar(let s, _): output += s
            case .null: output += "null"
            default: output += value.yaml()
            }
            rest = rest[rest.index(after: end)...]
        }
        output += rest
        if pieces == 1, let single, text.hasPrefix("${"), text.hasSuffix("}") {
            return single
        }
        return .scalar(output, quoted: true)
    }

    private mutating func evaluate(_ expression: String, key: String, depth: Int, level: Int) throws(ConfigError)
        -> ConfigNode
    {
        if expression.hasPrefix("oc.env:") {
            let arguments = expression.dropFirst("oc.env:".count).split(separator: ",", maxSplits: 1)
            let variable = arguments.first.map { String($0).trimmingCharacters(in: .whitespaces) } ?? ""
            if let value = environment[variable] { return .scalar(value, quoted: true) }
            if arguments.count == 2 {
                let fallback = arguments[1].trimmingCharacters(in: .whitespaces)
                return fallback == "null"
                    ? .null : .scalar(fallback.trimmingCharacters(in: CharacterSet(charactersIn: "'\"")), quoted: true)
            }
            throw .unsetEnvironment(variable, key: key)
        }
        let path = expression.split(separator: ".").map(String.init)
        guard let target = root.node(at: path[...]) else { throw .badInterpolation(expression, key: key) }
        if target.isMissingMarker { throw .missingValue(expression) }
        let dotted = path.joined(separator: ".")
        if resolving.contains(where: { $0 == dotted || $0.hasPrefix(dotted + ".") }) || key == dotted
            || key.hasPrefix(dotted + ".")
        {
            throw .badInterpolation(key: key, "refers to '\(expression)', which contains it: an interpolation cycle")
        }
        resolving.append(key)
        defer { resolving.removeLast() }
        return try resolve(target, path: path, depth: depth + 1, level: level)
    }
}
