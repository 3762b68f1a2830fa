import KandinskyCalibration
import Testing

@Suite struct FindingTests {
    @Test func encodesEachKindAsTheMetadataHasAlwaysStoredIt() {
        #expect(Finding.integer(30).metadataValue == "30")
        #expect(Finding.number(1e-05).metadataValue == "1e-05")
        #expect(Finding.flag(true).metadataValue == "true")
        #expect(Finding.numbers([12.5, -4.0]).metadataValue == "[12.5, -4.0]")
        #expect(Finding.integers([]).metadataValue == "[]")
        let perClass = PixelGroups.combining([
            (classIndex: 2, findings: ["theta": .numbers([1, .nan]), "converged": true]),
            (classIndex: 1, findings: ["theta": .numbers([0.5]), "split": "a \"b\""]),
        ])
        #expect(perClass["theta"]?.metadataValue == "{\"1\": [0.5], \"2\": \"[1.0, nan]\"}")
        #expect(perClass["converged"]?.metadataValue == "{\"2\": true}")
        #expect(perClass["split"]?.metadataValue == "{\"1\": \"a \\\"b\\\"\"}")
    }

    @Test func readsBackTheValueWhoseEncodingIsTheString() {
        let strings = [
            "30", "-2", "0.125", "nan", "true", "[1, 2]", "[1.5, -4.0]", "[]", "8 images chose the groups",
            "{\"0\": [1.0, 2.5], \"1\": \"[1.0, nan]\", \"3\": 4}", "1E5", "[1, 2.5]", "{\"x\": 1}",
            "{}", "\"q\"",
        ]
        for string in strings { #expect(Finding(metadataValue: string).metadataValue == string, "\(string)") }
        #expect(Finding(metadataValue: "[12.5, -4.0]") == .numbers([12.5, -4.0]))
        #expect(
            Finding(metadataValue: "{\"0\": [1.0], \"2\": false}")
                == .perClass([0: .numbers([1]), 2: .flag(false)]))
        #expect(Finding(metadataValue: "1E5") == .text("1E5"))
        #expect(Finding(metadataValue: "[nan, 1.0]") == .numbers([.nan, 1]) && Finding.number(0) != .number(-0.0))
    }
}
