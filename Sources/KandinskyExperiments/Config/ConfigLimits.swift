/// The size limits every configuration document (file or override) is held to before it is
/// turned into a ``ConfigNode`` tree.
///
/// libyaml, which Yams wraps, parses nested collections recursively and overflows the stack
/// somewhere between 1,000 and 10,000 levels; an alias (`*a`) of a collection is shared while
/// parsing but copied out for every use, so nine lines of nested aliases ("billion laughs")
/// describe 10⁹ values. Both limits are far above any real configuration (the shipped ones are
/// at most 5 levels deep and hold about 150 values) and far below what could exhaust the stack of
/// a 512 KiB thread or the memory of a small machine.
public enum ConfigLimits {
    /// The deepest nesting accepted, counting block indentation, `- ` entries and flow brackets.
    public static let maximumDepth = 100
    /// The most values (scalars, lists and mappings, each alias counted as a full copy of what
    /// it names) one document, or the interpolated configuration, may hold.
    public static let maximumNodeCount = 100_000

    /// A conservative nesting depth of YAML text, computed without parsing: it never reports less
    /// than the depth libyaml would reach, and may report more (a bracket inside a plain scalar
    /// counts). Stops counting once `limit` is exceeded.
    ///
    /// Flow brackets count outside quoted scalars, block scalars and comments; a quote opens a
    /// scalar only where YAML lets one start (after an indicator or at the start of a line), so
    /// an apostrophe inside plain text cannot hide the brackets after it. Each block line counts
    /// the indentation levels it sits in plus the `- `, `? ` and `: ` indicators on it. Lines
    /// more indented than a line ending in a block-scalar header (`|`, `>-`, …) are text.
    ///
    /// - Complexity: O(n) in the length of `text`.
    static func nestingDepth(of text: String, limit: Int = maximumDepth) -> Int {
        let space = UInt8(ascii: " ")
        let tab = UInt8(ascii: "\t")
        let newline = UInt8(ascii: "\n")
        let carriageReturn = UInt8(ascii: "\r")
        var deepest = 0
        var flow = 0
        var indents: [Int] = []
        var quote: UInt8?  // the open quote character, inside a quoted scalar
        var escaped = false
        var skippingLine = false  // inside a comment or a block scalar's line
        var atLineStart = true
        var column = 0
        var lineIndent = 0
        var lineIndicators = 0
        var previous = newline
        var lastSignificant = newline  // the last byte on the line that is not a space
        var word: [UInt8] = []  // the current run of non-space bytes, for block-scalar headers
        var blockScalarParent: Int?  // indentation of the line that opened a block scalar
        func isBlockScalarHeader(_ word: [UInt8]) -> Bool {
            guard let first = word.first, first == UInt8(ascii: "|") || first == UInt8(ascii: ">"), word.count <= 4
            else { return false }
            return word.dropFirst().allSatisfy {
                $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "+")
                    || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
            }
        }
        for byte in text.utf8 {
            defer { previous = byte }
            if byte == newline || byte == carriageReturn {
                if quote == nil, flow == 0, !atLineStart, isBlockScalarHeader(word), blockScalarParent == nil {
                    blockScalarParent = lineIndent
                }
                skippingLine = false
                atLineStart = quote == nil
                column = 0
                lineIndicators = 0
                lastSignificant = newline
                word = []
                continue
            }
            if skippingLine { continue }
            if let open = quote {
                if open == UInt8(ascii: "\"") {
                    if escaped {
                        escaped = false
                    } else if byte == UInt8(ascii: "\\") {
                        escaped = true
                    } else if byte == open {
                        quote = nil
                    }
                } else if byte == open {
                    quote = nil  // a doubled '' reopens on the next byte, since a quote is again significant
                }
                lastSignificant = byte
                continue
            }
            if atLineStart {
                if byte == space {
                    column += 1
                    continue
                }
                atLineStart = false
                lineIndent = column
                if let parent = blockScalarParent {
                    if column > parent {
                        skippingLine = true
                        continue
                    }
                    blockScalarParent = nil
                }
                if flow == 0 && byte != UInt8(ascii: "#") {
                    while let last = indents.last, last >= column { indents.removeLast() }
                    indents.append(column)
                }
            }
            let isSpace = byte == space || byte == tab
            let previousIsSpace =
                previous == space || previous == tab || previous == newline || previous == carriageReturn
            if isSpace {
                if previous == UInt8(ascii: "-") || previous == UInt8(ascii: "?") || previous == UInt8(ascii: ":") {
                    lineIndicators += 1
                }
                word = []
                continue
            }
            if word.count < 8 { word.append(byte) }
            switch byte {
            case UInt8(ascii: "#") where previousIsSpace:
                skippingLine = true
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                if [
                    newline, UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: ":"),
                    UInt8(ascii: "-"),
                    UInt8(ascii: "?"),
                ].contains(lastSignificant) {
                    quote = byte
                }
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                flow += 1
            case UInt8(ascii: "]"), UInt8(ascii: "}"):
                flow = max(0, flow - 1)
            default:
                break
            }
            // A flow indicator ends a word: `[&a "x"]` has the anchor right after the bracket.
            if flow > 0,
                [UInt8(ascii: "["), UInt8(ascii: "{"), UInt8(ascii: ","), UInt8(ascii: "]"), UInt8(ascii: "}")]
                    .contains(byte)
            {
                word = []
                lastSignificant = byte
                deepest = max(deepest, indents.count + lineIndicators + flow)
                if deepest > limit { return deepest }
                continue
            }
            // An anchor or tag (`&a`, `!!str`) may stand between an indicator and a quoted scalar.
            if word.first != UInt8(ascii: "&") && word.first != UInt8(ascii: "!") { lastSignificant = byte }
            deepest = max(deepest, indents.count + lineIndicators + flow)
            if deepest > limit { return deepest }
        }
        return max(deepest, indents.count + lineIndicators + flow)
    }

    /// At most the first `limit` characters of a (possibly huge) override or value, for messages.
    static func abbreviated(_ text: String, limit: Int = 60) -> String {
        text.count <= limit ? text : String(text.prefix(limit)) + "…"
    }
}

/// Counts the values produced while a YAML document is expanded or a configuration interpolated,
/// and stops the expansion once ``ConfigLimits/maximumNodeCount`` is passed.
struct NodeBudget {
    private(set) var used = 0
    /// Names the document in the error.
    let source: String

    mutating func spend() throws(ConfigError) {
        used += 1
        if used > ConfigLimits.maximumNodeCount { throw .tooManyNodes(source) }
    }
}
