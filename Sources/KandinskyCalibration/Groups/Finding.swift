import Foundation
import KandinskyCore

/// One thing a grouping strategy found, such as the annulus search's θ or its objective value.
///
/// Findings are kept in ``PixelGroups/findings`` by name and written into the calibrated-model
/// file's metadata as strings (``metadataValue``): an integer as `30`, a number as Swift prints
/// a `Double` (`0.125`, `1e-05`, `nan`), a flag as `true` or `false`, a text as it is, a list as
/// `[1.5, -4.0]`, and one value per class as a JSON object keyed by class index in ascending
/// order (`{"0": [...], "1": [...]}`), whose texts and non-finite numbers are JSON strings.
/// Reading a file back gives the typed value whose encoding is the stored string
/// (``init(metadataValue:)``), so a file read and written again keeps its bytes.
public enum Finding: Sendable, Equatable, CustomStringConvertible {
    /// A count, such as the number of generations.
    case integer(Int)
    /// A real value, such as an objective.
    case number(Double)
    /// A yes-or-no answer, such as whether a search converged.
    case flag(Bool)
    /// Free text, such as how a ``GroupSplit`` divided the images.
    case text(String)
    /// A list of counts.
    case integers([Int])
    /// A list of real values, such as θ = [cx, cy, r1, r2, r3].
    case numbers([Double])
    /// One value per class index, for a strategy that groups several classes.
    case perClass([Int: Finding])

    /// The value as it is stored in the file's metadata (see the type's documentation).
    public var metadataValue: String {
        switch self {
        case .integer(let value): "\(value)"
        case .number(let value): "\(value)"
        case .flag(let value): "\(value)"
        case .text(let value): value
        case .integers(let values): "[" + values.map { "\($0)" }.joined(separator: ", ") + "]"
        case .numbers(let values): "[" + values.map { "\($0)" }.joined(separator: ", ") + "]"
        case .perClass(let values):
            "{"
                + values.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value.nestedValue)" }
                .joined(separator: ", ") + "}"
        }
    }

    public var description: String { metadataValue }

    /// Equal kinds with equal values, numbers bit for bit (NaN equal to NaN, as the stored texts
    /// are), so a strategy that finds NaN still finds the same thing twice.
    public static func == (a: Finding, b: Finding) -> Bool {
        switch (a, b) {
        case let (.integer(x), .integer(y)): x == y
        case let (.number(x), .number(y)): x.bitPattern == y.bitPattern
        case let (.flag(x), .flag(y)): x == y
        case let (.text(x), .text(y)): x == y
        case let (.integers(x), .integers(y)): x == y
        case let (.numbers(x), .numbers(y)): x.map(\.bitPattern) == y.map(\.bitPattern)
        case let (.perClass(x), .perClass(y)): x == y
        default: false
        }
    }

    /// The value inside a per-class object: JSON, so texts and non-finite numbers are quoted.
    private var nestedValue: String {
        switch self {
        case .text(let value): CalibratedCurves.jsonString(value)
        case .number(let value) where !value.isFinite: CalibratedCurves.jsonString(metadataValue)
        case .numbers(let values) where !values.allSatisfy(\.isFinite): CalibratedCurves.jsonString(metadataValue)
        default: metadataValue
        }
    }

    /// The finding a metadata string encodes: the typed value whose ``metadataValue`` is exactly
    /// `metadataValue`, else (a string of another tool, say) the text itself.
    ///
    /// - Complexity: O(n) in the length of the string, per level of nesting.
    public init(metadataValue: String) {
        let parsed = Self.parse(metadataValue)
        self = parsed?.metadataValue == metadataValue ? parsed! : .text(metadataValue)
    }

    /// The numbers of a list (integers as `Double`), nil for another kind.
    public var numberList: [Double]? {
        switch self {
        case .numbers(let values): values
        case .integers(let values): values.map(Double.init)
        default: nil
        }
    }

    /// An integer or a number as `Double`, nil for another kind.
    public var numberValue: Double? {
        switch self {
        case .number(let value): value
        case .integer(let value): Double(value)
        default: nil
        }
    }

    /// The value of class `classIndex` of a per-class finding; any other finding is its own
    /// value for every class.
    public func value(ofClass classIndex: Int) -> Finding? {
        if case .perClass(let values) = self { return values[classIndex] }
        return self
    }

    /// A typed reading of a top-level metadata string, not yet checked to re-encode to it.
    private static func parse(_ text: String) -> Finding? {
        if text == "true" || text == "false" { return .flag(text == "true") }
        if let value = Int(text) { return .integer(value) }
        if let value = Double(text) { return .number(value) }
        if text.hasPrefix("["), text.hasSuffix("]") {
            let inner = text.dropFirst().dropLast()
            let items = inner.isEmpty ? [] : inner.components(separatedBy: ", ")
            let integers = items.compactMap { Int($0) }
            if integers.count == items.count { return .integers(integers) }
            let numbers = items.compactMap { Double($0) }
            return numbers.count == items.count ? .numbers(numbers) : nil
        }
        if text.hasPrefix("{"), text.hasSuffix("}") { return parsePerClass(text) }
        return nil
    }

    /// `{"c": value, …}` with class-index keys; nil when it is not that shape.
    private static func parsePerClass(_ text: String) -> Finding? {
        guard case .object(let members)? = JSONValue(parsing: text) else { return nil }
        return perClass(members)
    }

    /// The per-class finding of a JSON object's members; nil unless every key is a class index
    /// and every value a finding.
    private static func perClass(_ members: [String: JSONValue]) -> Finding? {
        var values: [Int: Finding] = [:]
        for (key, value) in members {
            guard let classIndex = Int(key), let finding = nested(value) else { return nil }
            values[classIndex] = finding
        }
        return .perClass(values)
    }

    /// The finding a value inside a per-class object stands for (a text is a JSON string there).
    private static func nested(_ value: JSONValue) -> Finding? {
        switch value {
        case .string(let text): return .text(text)
        case .bool(let flag): return .flag(flag)
        case .integer(let number): return .integer(number)
        case .number(let number): return .number(number)
        case .object(let members): return perClass(members)
        case .null: return nil
        case .array(let items):
            let integers = items.compactMap { if case .integer(let number) = $0 { number } else { nil } }
            if integers.count == items.count { return .integers(integers) }
            let numbers = items.compactMap { $0.numberValue }
            return numbers.count == items.count ? .numbers(numbers) : nil
        }
    }
}

extension Finding: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral,
    ExpressibleByBooleanLiteral
{
    public init(stringLiteral value: String) { self = .text(value) }
    public init(integerLiteral value: Int) { self = .integer(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(booleanLiteral value: Bool) { self = .flag(value) }
}
