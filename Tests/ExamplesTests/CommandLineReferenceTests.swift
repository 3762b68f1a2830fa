import Foundation
import KandinskyTestSupport
import Testing

/// The command-line reference article is generated from the tool's help; this fails when a
/// command or option changes without `scripts/generate-cli-reference.sh` being run again.
@Suite struct CommandLineReferenceTests {
    static let article =
        packageRoot
        .appendingPathComponent(
            "Sources/KandinskyExperiments/KandinskyExperiments.docc/Articles/CommandLineReference.md")

    /// The fenced help text under each `### kandinsky <command>` heading.
    static func documentedHelp() throws -> [String: String] {
        let lines = try String(contentsOf: article, encoding: .utf8).components(separatedBy: "\n")
        var sections: [String: String] = [:]
        var index = 0
        while index < lines.count {
            if lines[index].hasPrefix("### kandinsky ") {
                let command = String(lines[index].dropFirst("### kandinsky ".count))
                guard let open = lines[index...].firstIndex(of: "```"),
                    let close = lines[(open + 1)...].firstIndex(of: "```")
                else { break }
                sections[command] = lines[(open + 1)..<close].joined(separator: "\n")
                index = close
            }
            index += 1
        }
        return sections
    }

    @Test func everySubcommandIsDocumentedWithItsCurrentHelp() throws {
        let overview = try runExample("kandinsky", ["--help"])
        #expect(overview.status == 0)
        var commands: [String] = []
        var inside = false
        for line in overview.stdout.components(separatedBy: "\n") {
            if line.hasSuffix("SUBCOMMANDS:") {
                inside = true
                continue
            }
            if inside, line.hasPrefix("  "), let first = line.dropFirst(2).first, first.isLetter, first.isLowercase {
                commands.append(String(line.dropFirst(2).prefix { $0 != " " }))
            }
        }
        let documented = try Self.documentedHelp()
        #expect(commands.count >= 14, "\(commands)")
        #expect(Set(documented.keys) == Set(commands))
        for command in commands {
            let help = try runExample("kandinsky", ["help", command])
            #expect(help.status == 0)
            #expect(
                documented[command]?.trimmingSuffix() == help.stdout.trimmingSuffix(),
                "kandinsky help \(command) differs from the article; run scripts/generate-cli-reference.sh")
        }
    }
}

extension CommandLineReferenceTests {
    /// The schema and limits in the article are the tool's own.
    @Test func configurationSchemaIsDocumentedAsHelpConfigPrintsIt() throws {
        let text = try String(contentsOf: Self.article, encoding: .utf8)
        let marker = "The schema, as `kandinsky help-config` prints it:\n\n```\n"
        let start = try #require(
            text.range(of: marker), "the article has no help-config section; run scripts/generate-cli-reference.sh")
        let end = try #require(text[start.upperBound...].range(of: "\n```\n"))
        let schema = try runExample("kandinsky", ["help-config"])
        #expect(schema.status == 0)
        #expect(
            String(text[start.upperBound..<end.lowerBound]) == schema.stdout.trimmingSuffix(),
            "kandinsky help-config differs from the article; run scripts/generate-cli-reference.sh")
        #expect(schema.stdout.contains("data.dims: a list of 2 integers in 1...8192\n"))
    }
}

extension String {
    /// Without trailing newlines, which the help ends with and the article keeps or drops.
    func trimmingSuffix() -> String {
        var text = self
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }
}
