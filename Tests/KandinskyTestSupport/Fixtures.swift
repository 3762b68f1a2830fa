import Foundation

/// The package's root folder in the source tree, for tests that read committed files outside
/// their own target (another target's fixtures, the articles, the configs).
public let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The committed fixtures of one test target: its `Fixtures/` folder (each written by a script
/// under `scripts/fixtures/` named in the file that reads it).
public struct Fixtures: Sendable {
    /// The `Fixtures/` folder.
    public let directory: URL

    /// The fixtures a test target copies into its bundle (`resources: [.copy("Fixtures")]`):
    /// pass the target's `Bundle.module`.
    public init(in bundle: Bundle) {
        directory = bundle.resourceURL!.appendingPathComponent("Fixtures")
    }

    /// The fixtures of test target `target` in the source tree, for a test of another target.
    public init(ofTestTarget target: String) {
        directory = packageRoot.appendingPathComponent("Tests").appendingPathComponent(target)
            .appendingPathComponent("Fixtures")
    }

    /// The URL of a file under `Fixtures/`.
    public func url(_ relativePath: String) -> URL {
        directory.appendingPathComponent(relativePath)
    }

    /// A decoded JSON fixture.
    public func decode<T: Decodable>(_ type: T.Type, from relativePath: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: url(relativePath)))
    }
}
