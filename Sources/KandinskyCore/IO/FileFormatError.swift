/// A file that Kandinsky could not read or write, with the file, the part of it that is wrong
/// and what was expected there.
public struct FileFormatError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The file's path as given.
    public let file: String
    /// The part of the file that is wrong (a header key, a tensor name, `data`, …).
    public let field: String
    /// What was expected, and what was found.
    public let problem: String

    /// An error naming the file, the field (a JSON key, tensor name or header entry) and the problem.
    package init(file: String, field: String, problem: String) {
        self.file = file
        self.field = field
        self.problem = problem
    }

    /// One line: `FILE: FIELD: PROBLEM`.
    public var description: String { "\(file): \(field): \(problem)" }
}
