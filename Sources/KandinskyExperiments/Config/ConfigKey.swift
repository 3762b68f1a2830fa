/// A range of finite numbers, each end open or closed; an infinite end means unbounded there.
/// NaN and infinities are never inside.
package struct NumberRange: Sendable, Equatable, CustomStringConvertible {
    package var lower: Double
    package var lowerIncluded: Bool
    package var upper: Double
    package var upperIncluded: Bool

    /// [a, b]
    package static func closed(_ a: Double, _ b: Double) -> NumberRange {
        NumberRange(lower: a, lowerIncluded: true, upper: b, upperIncluded: true)
    }
    /// [a, b)
    package static func closedOpen(_ a: Double, _ b: Double) -> NumberRange {
        NumberRange(lower: a, lowerIncluded: true, upper: b, upperIncluded: false)
    }
    /// (a, b)
    package static func open(_ a: Double, _ b: Double) -> NumberRange {
        NumberRange(lower: a, lowerIncluded: false, upper: b, upperIncluded: false)
    }
    /// (a, b]
    package static func openClosed(_ a: Double, _ b: Double) -> NumberRange {
        NumberRange(lower: a, lowerIncluded: false, upper: b, upperIncluded: true)
    }
    /// [a, ∞), finite
    package static func atLeast(_ a: Double) -> NumberRange {
        NumberRange(lower: a, lowerIncluded: true, upper: .infinity, upperIncluded: false)
    }
    /// (a, ∞), finite
    package static func above(_ a: Double) -> NumberRange {
        NumberRange(lower: a, lowerIncluded: false, upper: .infinity, upperIncluded: false)
    }

    package func contains(_ x: Double) -> Bool {
        x.isFinite && (lowerIncluded ? x >= lower : x > lower) && (upperIncluded ? x <= upper : x < upper)
    }

    /// "a number in (0, 1]", or "a finite number ≥ 0" without an upper end.
    package var description: String {
        upper == .infinity ? "a finite number " + bounds : "a number " + bounds
    }

    /// "in (0, 1]" or "≥ 0": the range without its noun.
    var bounds: String {
        let format = ConfigValueType.format
        if upper == .infinity { return "\(lowerIncluded ? "≥" : ">") \(format(lower))" }
        return "in \(lowerIncluded ? "[" : "(")\(format(lower)), \(format(upper))\(upperIncluded ? "]" : ")")"
    }
}

/// The kind of value a configuration key holds and the values it allows.
package enum ConfigValueType: Sendable {
    /// An integer in the range.
    case integer(ClosedRange<Int>)
    /// A finite number in the range.
    case number(NumberRange)
    /// One of these words.
    case choice([String])
    /// Any scalar (paths, names).
    case text
    /// A list of integers, its length and each item in the ranges.
    case integers(count: ClosedRange<Int>, each: ClosedRange<Int>)
    /// A list of numbers, its length and each item in the ranges.
    case numbers(count: ClosedRange<Int>, each: NumberRange)
    /// A list of words (each one of `choices` when given).
    case texts(count: ClosedRange<Int>, choices: [String]?)
    /// `[[low, high], …]`, one pair per name, low ≤ high, every number in `each`.
    case intervals(names: [String], each: NumberRange)
    /// A mapping of further keys.
    case section

    /// How `help-config` and errors state the type and range.
    package var description: String {
        switch self {
        case .integer(let range): Self.describe(range, noun: "an integer")
        case .number(let range): range.description
        case .choice(let words): "one of " + words.joined(separator: ", ")
        case .text: "text"
        case .integers(let count, let each):
            "a list of \(Self.describe(count)) " + Self.describe(each, noun: "integers")
        case .numbers(let count, let each):
            "a list of \(Self.describe(count)) numbers, each " + (each.upper == .infinity ? "finite " : "")
                + each.bounds
        case .texts(let count, let choices):
            "a list of \(Self.describe(count)) "
                + (choices.map { "words among " + $0.joined(separator: ", ") } ?? "non-empty words")
        case .intervals(let names, let each):
            "\(names.count) [low, high] pairs (\(names.joined(separator: ", "))) with low ≤ high, each end "
                + each.bounds
        case .section: "a section"
        }
    }

    static func describe(_ range: ClosedRange<Int>, noun: String) -> String {
        if range.lowerBound == range.upperBound { return "\(noun) equal to \(range.lowerBound)" }
        if range.upperBound == .max { return "\(noun) ≥ \(range.lowerBound)" }
        return "\(noun) in \(range.lowerBound)...\(range.upperBound)"
    }

    static func describe(_ count: ClosedRange<Int>) -> String {
        count.lowerBound == count.upperBound ? "\(count.lowerBound)" : "\(count.lowerBound) to \(count.upperBound)"
    }

    /// Reads and checks `node` (not null, not `???`).
    func read(_ node: ConfigNode, key: String, source: String?) throws(ConfigError) -> ConfigValue {
        func wrong(_ found: ConfigNode? = nil) -> ConfigError {
            .wrongType(key, expected: description, found: (found ?? node).summary, source: source)
        }
        func outside() -> ConfigError {
            .outOfRange(key, value: Self.value(node), expected: description, source: source)
        }
        func scalar(_ node: ConfigNode) throws(ConfigError) -> String {
            guard case .scalar(let text, _) = node else { throw wrong(node) }
            return text
        }
        func integer(_ node: ConfigNode) throws(ConfigError) -> Int {
            let text = try scalar(node)
            if let value = Int(text) { return value }
            // YAML spells large integers as floats too (1e8); any integral one is read exactly.
            if let value = Double(text), value == value.rounded(), abs(value) < 0x1p62 { return Int(value) }
            throw wrong(node)
        }
        func number(_ node: ConfigNode) throws(ConfigError) -> Double {
            guard let value = Double(try scalar(node)) else { throw wrong(node) }
            return value
        }
        func items(_ count: ClosedRange<Int>) throws(ConfigError) -> [ConfigNode] {
            guard case .list(let items) = node else { throw wrong() }
            guard count.contains(items.count) else { throw outside() }
            return items
        }
        /// The items of a list of `count` entries, in order, each read by `element`; the first
        /// one that `accepts` rejects throws `outside()`.
        func list<Element>(
            _ count: ClosedRange<Int>, _ element: (ConfigNode) throws(ConfigError) -> Element,
            accepts: (Element) -> Bool
        ) throws(ConfigError) -> [Element] {
            var values: [Element] = []
            for item in try items(count) {
                let value = try element(item)
                guard accepts(value) else { throw outside() }
                values.append(value)
            }
            return values
        }
        switch self {
        case .integer(let range):
            let value = try integer(node)
            guard range.contains(value) else { throw outside() }
            return .integer(value)
        case .number(let range):
            let value = try number(node)
            guard range.contains(value) else { throw outside() }
            return .number(value)
        case .choice(let words):
            let value = try scalar(node)
            guard words.contains(value) else { throw outside() }
            return .text(value)
        case .text:
            return .text(try scalar(node))
        case .integers(let count, let each):
            return .integers(try list(count, integer) { each.contains($0) })
        case .numbers(let count, let each):
            return .numbers(try list(count, number) { each.contains($0) })
        case .texts(let count, let choices):
            return .texts(try list(count, scalar) { !$0.isEmpty && choices?.contains($0) ?? true })
        case .intervals(let names, let each):
            var pairs: [[Double]] = []
            for (index, item) in try items(names.count...names.count).enumerated() {
                guard case .list(let ends) = item, ends.count == 2 else {
                    throw .outOfRange(
                        key, value: Self.value(node),
                        expected: description + "; the \(names[index]) pair (number \(index + 1)) is \(item.summary)",
                        source: source)
                }
                let low = try number(ends[0])
                let high = try number(ends[1])
                guard each.contains(low), each.contains(high) else { throw outside() }
                guard low <= high else {
                    throw .outOfRange(
                        key, value: Self.value(node),
                        expected: description
                            + "; the \(names[index]) pair (number \(index + 1)) is reversed: [\(Self.format(low)), \(Self.format(high))]",
                        source: source)
                }
                pairs.append([low, high])
            }
            return .intervals(pairs)
        case .section:
            guard case .map = node else { throw wrong() }
            return .section
        }
    }

    /// A value as shown in errors: its YAML, at most 60 characters.
    static func value(_ node: ConfigNode) -> String {
        switch node {
        case .scalar(let text, _): ConfigLimits.abbreviated(text)
        default: node.summary.hasPrefix("'") ? node.summary : ConfigLimits.abbreviated(node.yaml())
        }
    }

    static func format(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : "\(x)" }
}

/// A value read and checked by ``ConfigValueType``.
package enum ConfigValue: Sendable, Equatable {
    case null
    case integer(Int)
    case number(Double)
    case text(String)
    case integers([Int])
    case numbers([Double])
    case texts([String])
    case intervals([[Double]])
    case section
}

/// What ``ConfigSchema`` keeps of every key, whatever its Swift type.
package protocol ConfigKeyDescription: Sendable {
    /// The dotted path, e.g. `data.batch_size`.
    var path: String { get }
    /// The type and range, as `help-config` prints them.
    var typeDescription: String { get }
    /// What the value means and why its range is what it is.
    var meaning: String { get }
    /// Whether null is allowed.
    var nullable: Bool { get }
    /// Checks the key's value in `config` when present (absent keys and `???` pass).
    func check(in config: Config) throws(ConfigError)
}

/// One configuration key: its path, type, range and meaning, and how to read it as `Value`.
///
/// Declared once, as a property of ``ConfigSchema``, and read with ``Config/value(_:)``; make one
/// with the static functions (`.integer(…)`, `.number(…)`, `.choice(…)`, …), and a nullable one
/// by wrapping it: `.optional(.integer(…))`.
package struct ConfigKey<Value: Sendable>: ConfigKeyDescription {
    package let path: String
    package let type: ConfigValueType
    package let meaning: String
    package let nullable: Bool
    /// A further condition (an even number, equal ends, …): nil when it holds, else what is expected.
    let condition: (@Sendable (ConfigValue) -> String?)?
    let convert: @Sendable (ConfigValue) -> Value

    init(
        _ path: String, _ type: ConfigValueType, _ meaning: String, nullable: Bool = false,
        condition: (@Sendable (ConfigValue) -> String?)? = nil, convert: @escaping @Sendable (ConfigValue) -> Value
    ) {
        self.path = path
        self.type = type
        self.meaning = meaning
        self.nullable = nullable
        self.condition = condition
        self.convert = convert
    }

    package var typeDescription: String { type.description + (nullable ? ", or null" : "") }

    /// The checked value of `node` (which is not `???`).
    func value(of node: ConfigNode, source: String?) throws(ConfigError) -> Value {
        if case .null = node {
            guard nullable else { throw .wrongType(path, expected: type.description, found: "null", source: source) }
            return convert(.null)
        }
        let value = try type.read(node, key: path, source: source)
        if let condition, let expected = condition(value) {
            throw .outOfRange(path, value: ConfigValueType.value(node), expected: expected, source: source)
        }
        return convert(value)
    }

    /// The key's value in `config`; an absent nullable key reads as null.
    func read(from config: Config) throws(ConfigError) -> Value {
        if nullable, config.node(path) == nil { return convert(.null) }
        return try value(of: try config.present(path), source: config.sources.source(of: path))
    }

    package func check(in config: Config) throws(ConfigError) {
        guard let node = config.node(path), !node.isMissingMarker else { return }
        _ = try value(of: node, source: config.sources.source(of: path))
    }
}

// MARK: - Making keys

/// A condition on a Swift value as a condition on the ``ConfigValue`` it is read from.
private func lift<T>(
    _ condition: (@Sendable (T) -> String?)?,
    _ extract: @escaping @Sendable (ConfigValue) -> T?
) -> (@Sendable (ConfigValue) -> String?)? {
    guard let condition else { return nil }
    return { value in extract(value).flatMap(condition) }
}

extension ConfigKey {
    /// A key that is never null, of `type`: `extract` takes the Swift value out of the case of
    /// ``ConfigValue`` that `type` reads (nil for any other, which reading rules out), and
    /// `condition`, when given, is checked on that value.
    fileprivate static func required(
        _ path: String, _ type: ConfigValueType, _ meaning: String,
        condition: (@Sendable (Value) -> String?)? = nil,
        _ extract: @escaping @Sendable (ConfigValue) -> Value?
    ) -> Self {
        Self(path, type, meaning, condition: lift(condition, extract)) {
            guard let value = extract($0) else { preconditionFailure("\(path) read as \($0)") }
            return value
        }
    }

    /// `key` made nullable: null (or an absent key) reads as nil, any other value as `key`
    /// reads and checks it; `help-config` shows its type followed by ", or null".
    static func optional<Wrapped>(_ key: ConfigKey<Wrapped>) -> Self where Value == Wrapped? {
        Self(key.path, key.type, key.meaning, nullable: true, condition: key.condition) {
            if case .null = $0 { nil } else { key.convert($0) }
        }
    }
}

extension ConfigKey where Value == Int {
    static func integer(
        _ path: String, _ range: ClosedRange<Int>, _ meaning: String,
        condition: (@Sendable (Int) -> String?)? = nil
    ) -> Self {
        .required(path, .integer(range), meaning, condition: condition) {
            if case .integer(let v) = $0 { v } else { nil }
        }
    }
}

extension ConfigKey where Value == UInt64 {
    /// A seed: any non-negative integer (read as UInt64, which is how generators take it).
    static func seed(_ path: String, _ meaning: String) -> Self {
        .required(path, .integer(0...Int.max), meaning) { if case .integer(let v) = $0 { UInt64(v) } else { nil } }
    }
}

extension ConfigKey where Value == Double {
    static func number(_ path: String, _ range: NumberRange, _ meaning: String) -> Self {
        .required(path, .number(range), meaning) { if case .number(let v) = $0 { v } else { nil } }
    }
}

extension ConfigKey where Value == String {
    static func text(_ path: String, _ meaning: String, condition: (@Sendable (String) -> String?)? = nil) -> Self {
        .required(path, .text, meaning, condition: condition) { if case .text(let v) = $0 { v } else { nil } }
    }
}

extension ConfigKey where Value: RawRepresentable & CaseIterable & Sendable, Value.RawValue == String {
    /// One of the raw values of `Value`'s cases.
    static func choice(_ path: String, _ meaning: String) -> Self {
        .required(path, .choice(Value.allCases.map(\.rawValue)), meaning) {
            if case .text(let v) = $0 { Value(rawValue: v) } else { nil }
        }
    }
}

extension ConfigKey where Value == [Int] {
    static func integers(
        _ path: String, count: ClosedRange<Int>, each: ClosedRange<Int>, _ meaning: String,
        condition: (@Sendable ([Int]) -> String?)? = nil
    ) -> Self {
        .required(path, .integers(count: count, each: each), meaning, condition: condition) {
            if case .integers(let v) = $0 { v } else { nil }
        }
    }
}

extension ConfigKey where Value == [Double] {
    static func numbers(
        _ path: String, count: ClosedRange<Int>, each: NumberRange, _ meaning: String,
        condition: (@Sendable ([Double]) -> String?)? = nil
    ) -> Self {
        .required(path, .numbers(count: count, each: each), meaning, condition: condition) {
            if case .numbers(let v) = $0 { v } else { nil }
        }
    }
}

extension ConfigKey where Value == [String] {
    static func texts(_ path: String, count: ClosedRange<Int>, _ meaning: String) -> Self {
        .required(path, .texts(count: count, choices: nil), meaning) { if case .texts(let v) = $0 { v } else { nil } }
    }
}

extension ConfigKey {
    /// A list of raw values of `Element`'s cases.
    static func choices<Element>(_ path: String, count: ClosedRange<Int>, _ meaning: String) -> Self
    where Value == [Element], Element: RawRepresentable & CaseIterable & Sendable, Element.RawValue == String {
        .required(path, .texts(count: count, choices: Element.allCases.map(\.rawValue)), meaning) {
            if case .texts(let v) = $0 { v.compactMap(Element.init(rawValue:)) } else { nil }
        }
    }
}

extension ConfigKey where Value == [[Double]] {
    static func intervals(_ path: String, names: [String], each: NumberRange, _ meaning: String) -> Self {
        .required(path, .intervals(names: names, each: each), meaning) {
            if case .intervals(let v) = $0 { v } else { nil }
        }
    }
}

extension ConfigKey where Value == Bool {
    /// A mapping of further keys, or null: reads as whether it is present.
    static func optionalSection(_ path: String, _ meaning: String) -> Self {
        Self(path, .section, meaning, nullable: true) { $0 == .section }
    }
}

extension Config {
    /// The value of a key of ``ConfigSchema``, checked against its type and range.
    ///
    /// - Throws: ``ConfigError`` naming the key, the value, what was expected and the file or
    ///   override that set it; `unknownKey` when a non-nullable key is absent, `missingValue` for `???`.
    package func value<Value>(_ key: KeyPath<ConfigSchema, ConfigKey<Value>>) throws(ConfigError) -> Value {
        try ConfigSchema.shared[keyPath: key].read(from: self)
    }

    /// The value of a key that configurations written before it existed may lack: `fallback`
    /// when it is absent, otherwise as ``value(_:)``.
    package func value<Value>(_ key: KeyPath<ConfigSchema, ConfigKey<Value>>, ifAbsent fallback: Value)
        throws(ConfigError) -> Value
    {
        node(ConfigSchema.shared[keyPath: key].path) == nil ? fallback : try value(key)
    }
}

extension Config {
    /// `ckpt_path` of a command that needs one (calibrate, eval, predict).
    func requiredCheckpoint() throws(ConfigError) -> String {
        guard let path = try value(\.checkpoint) else { throw .missingValue("ckpt_path") }
        return path
    }
}
