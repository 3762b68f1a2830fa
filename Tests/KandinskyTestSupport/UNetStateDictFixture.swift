import Foundation
import KandinskyCore

/// `Tests/KandinskyModelsTests/Fixtures/unet_state_dicts.json`: the `state_dict()` of the
/// original's UNet in PyTorch for a few architectures, written by
/// `scripts/fixtures/make_unet_state_dict_fixture.py`, so that tests compare Kandinsky's names
/// and shapes with PyTorch's without PyTorch.
public struct UNetStateDictFixture: Decodable, Sendable {
    /// One `state_dict()` entry: its name, safetensors dtype and shape.
    public struct Entry: Decodable, Sendable, Equatable, CustomStringConvertible {
        public var name: String
        public var dtype: String
        public var shape: [Int]

        public init(name: String, dtype: String, shape: [Int]) {
            self.name = name
            self.dtype = dtype
            self.shape = shape
        }

        public var description: String { "\(name) \(dtype) \(shape)" }
    }

    /// One architecture's entries, in PyTorch's order.
    public struct Architecture: Decodable, Sendable {
        public var inChannels: Int
        public var outChannels: Int
        public var channels: Int
        public var depth: Int
        public var stateDict: [Entry]
    }

    /// The PyTorch version that wrote the fixture.
    public var torch: String
    public var architectures: [Architecture]

    /// The committed fixture.
    public static func load() throws -> UNetStateDictFixture {
        let url = Fixtures(ofTestTarget: "KandinskyModelsTests").url("unet_state_dicts.json")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(UNetStateDictFixture.self, from: Data(contentsOf: url))
    }

    /// The architecture with these sizes.
    public func architecture(inChannels: Int, outChannels: Int, channels: Int, depth: Int) -> Architecture? {
        architectures.first {
            ($0.inChannels, $0.outChannels, $0.channels, $0.depth) == (inChannels, outChannels, channels, depth)
        }
    }
}

extension SafetensorsFile {
    /// The tensors as fixture entries, sorted by name (a safetensors header has no order).
    public var stateDictEntries: [UNetStateDictFixture.Entry] {
        tensors.map { .init(name: $0.name, dtype: $0.array.elementType.rawValue, shape: $0.array.shape) }.sorted {
            $0.name < $1.name
        }
    }
}
