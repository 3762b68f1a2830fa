import KandinskyCore

/// A coding key for any field name, used to carry unknown fields along.
struct AnyCodingKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension KeyedDecodingContainer where Key == AnyCodingKey {
    /// The fields of this object other than `known`, as JSON values.
    func extraFields(excluding known: Set<String>) throws -> [String: JSONValue] {
        var extra: [String: JSONValue] = [:]
        for key in allKeys where !known.contains(key.stringValue) {
            extra[key.stringValue] = try decode(JSONValue.self, forKey: key)
        }
        return extra
    }
}

extension KeyedEncodingContainer where Key == AnyCodingKey {
    mutating func encodeExtraFields(_ extra: [String: JSONValue]) throws {
        for (name, value) in extra {
            try encode(value, forKey: AnyCodingKey(name))
        }
    }
}
