import Foundation
import KandinskyCalibration
import KandinskyCore
import KandinskyData
import KandinskyTestSupport
import Testing

/// Seeded mutation tests of every file parser: each mutated input must be accepted or refused
/// with the parser's typed error, never trap (a trap ends the test process; ``FuzzHarness``
/// then prints the parser, seed and iteration of the input, and writes it out when
/// `KANDINSKY_FUZZ_CRASH_DIR` is set). Every input that ever crashed is kept under
/// `Fixtures/regressions/<parser>/` and replayed first: each must be refused, except the valid
/// inputs named `valid-…`, which must be accepted.
///
/// `KANDINSKY_FUZZ_ITERATIONS` (default 10,000) sets the inputs per parser and
/// `KANDINSKY_FUZZ_SEED` (default 0) the campaign; `scripts/fuzz-campaign.sh` runs these same
/// tests for a long campaign.
@Suite("Fuzzing the file parsers")
struct FuzzTests {
    @Test(".npy files (NumpyFile), the header dictionary mutated as tokens and as bytes")
    func numpy() throws {
        try fuzzFile(
            parser: "npy", seeds: seedFiles(withExtension: "npy"),
            mutate: { bytes, _, generator in
                Bool.random(using: &generator)
                    ? Self.mutateNumpyHeader(&bytes, using: &generator) : mutateBytes(&bytes, using: &generator)
            }
        ) { url throws(FileFormatError) in
            _ = try NumpyFile.read(contentsOf: url)
        }
    }

    @Test("safetensors files (SafetensorsFile), the header JSON mutated as JSON and as bytes")
    func safetensors() throws {
        var seeds = seedFiles(withExtension: "safetensors")
        var small = SafetensorsFile(
            tensors: [
                ("a", .float32(ShapedArray(shape: [2, 3], scalars: [1, 2, 3, 4, 5, 6]))),
                ("b", .uint8(ShapedArray(shape: [4], scalars: [0, 1, 2, 3]))),
            ],
            metadata: ["format": "pt"])
        seeds.append(try seedBytes(writtenTo: "seed.safetensors") { try small.write(to: $0) })
        small.tensors.removeAll()
        seeds.append(try seedBytes(writtenTo: "seed.safetensors") { try small.write(to: $0) })
        try fuzzSafetensorsLayout(parser: "safetensors", seeds: seeds) { url throws(FileFormatError) in
            _ = try SafetensorsFile.read(contentsOf: url)
        }
    }

    @Test("calibrated-model files (CalibratedCurves): header JSON, metadata values and curve bytes mutated")
    func calibratedModel() throws {
        // Format 3: a pixelwise class beside one stored as group curves [Q, G], with +∞
        // thresholds; a grouped class whose pixels have curves of their own (stored [Q, H, W]
        // beside its labels); a pixelwise linear file with NaN curves. Format 2: the first one
        // as `nc_curves` [Q, C, H, W], and the format-2 files of the calibration tests.
        let labels = ShapedArray<Int32>(shape: [2, 3], scalars: [0, 0, 1, 1, 2, 2])
        var values = [Float](repeating: 0, count: 4 * 2 * 6)
        for k in 0..<4 {
            for i in 0..<6 { values[k * 12 + i] = Float(k) * 0.2 + Float(i) * 0.01 }
            for i in 0..<6 {
                values[k * 12 + 6 + i] =
                    k == 3 && labels.scalars[i] == 2 ? .infinity : Float(k) * 0.2 + Float(labels.scalars[i]) * 0.05
            }
        }
        let groups = PixelGroups(labels: [nil, labels], groupCounts: [0, 3])
        let grouped = CalibratedCurves(
            curves: Tensor(shape: [4, 2, 2, 3], scalars: values), method: "kmeans", calibrationImageCount: 7,
            rule: .conformal, groups: groups, groupSampleCounts: [nil, [4, 5, 6]], groupImageCounts: [nil, [3, 3, 2]])
        var ownValues = values
        for k in 0..<4 { ownValues[k * 12 + 7] = min(ownValues[k * 12 + 7] + 0.01, 1) }
        let ownCurves = CalibratedCurves(
            curves: Tensor(shape: [4, 2, 2, 3], scalars: ownValues), method: "kmeans", calibrationImageCount: 7,
            rule: .conformal, groups: groups, groupSampleCounts: [nil, [4, 5, 6]])
        var linearValues = values.map { $0 == .infinity ? 0.9 : $0 }
        for k in 0..<4 { linearValues[k * 12 + 7] = .nan }
        let linear = CalibratedCurves(
            curves: Tensor(shape: [4, 2, 2, 3], scalars: linearValues), method: "pixel",
            calibrationImageCount: 7, rule: .linear)
        #expect(grouped.safetensors["nc_group_curves_class1"]?.shape == [4, 3])
        #expect(ownCurves.safetensors["nc_curves_class1"]?.shape == [4, 2, 3])
        let files = [
            grouped.safetensors, ownCurves.safetensors, linear.safetensors, grouped.safetensors(layout: .dense),
        ]
        var seeds =
            try files
            .map { file in try seedBytes(writtenTo: "seed-cmodel.safetensors") { try file.write(to: $0) } }
        let formatTwo = Fixtures(ofTestTarget: "KandinskyCalibrationTests").url("format2")
        for name in try FileManager.default.contentsOfDirectory(atPath: formatTwo.path).sorted()
        where name.hasSuffix(".safetensors") {
            seeds.append(Array(try Data(contentsOf: formatTwo.appendingPathComponent(name))))
        }
        #expect(seeds.count == 7)
        try fuzzSafetensorsLayout(parser: "cmodel", seeds: seeds) { url throws(CalibrationError) in
            _ = try CalibratedCurves.read(contentsOf: url)
        }
    }

    @Test("score stores (ScoreStore .kscores): header fields, row counts, scores and images mutated")
    func scoreStore() throws {
        // Two small stores: three classes with an odd score count (so the padding is present),
        // and one class scored in half precision.
        let p = Tensor(shape: [2, 3, 2, 2], scalars: (0..<24).map { Float($0 % 5) / 4 })
        let t = ShapedArray<UInt8>(shape: [2, 3, 2, 2], scalars: (0..<24).map { $0 % 3 == 0 ? 1 : 0 })
        let seeds = try [
            ScoreStore(probabilities: p, targets: t),
            ScoreStore(
                probabilities: HalfTensor(
                    shape: [3, 1, 1, 3],
                    scalars: [0.5, 0.25, 1, 0, 0.75, 0.5, 0.125, 1, 0]),
                targets: ShapedArray(shape: [3, 1, 1, 3], repeating: 1), precision: .halfProbabilities),
        ].map { store in try seedBytes(writtenTo: "seed.kscores") { try store.write(to: $0) } }
        try fuzzFile(
            parser: "kscores", seeds: seeds,
            mutate: { bytes, _, generator in
                Bool.random(using: &generator)
                    ? Self.mutateScoreHeader(&bytes, using: &generator) : mutateBytes(&bytes, using: &generator)
            }
        ) { url throws(FileFormatError) in
            _ = try ScoreStore.read(contentsOf: url)
        }
    }

    /// One of the header's integers (version, precision, N, C, H, W, S) or a row count set to
    /// a boundary value, so mutations reach past the magic.
    static func mutateScoreHeader(_ bytes: inout [UInt8], using generator: inout SeededGenerator) -> [String] {
        guard bytes.count >= 60 else { return mutateBytes(&bytes, using: &generator) }
        let fields: [(String, Int, Int)] = [
            ("version", 8, 4), ("precision", 12, 4), ("N", 16, 8), ("C", 24, 8), ("H", 32, 8),
            ("W", 40, 8), ("S", 48, 8), ("counts[0]", 56, 4),
        ]
        let (name, offset, width) = fields.randomElement(using: &generator)!
        let values: [UInt64] = [
            0, 1, 2, 3, 0xFF, 0xFFFF_FFFF, 0x1_0000_0000, UInt64.max, UInt64(bytes.count), UInt64(bytes.count / 6),
        ]
        let value = values.randomElement(using: &generator)!
        for j in 0..<width { bytes[offset + j] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(j))) }
        return ["\(name) = \(value)"]
    }

    /// Half the time bytes anywhere (header or tensor data); otherwise the header as JSON, its
    /// new length written, so mutations reach the tensor table and the metadata values.
    static func mutateSafetensors(_ bytes: inout [UInt8], using generator: inout SeededGenerator) -> [String] {
        guard Bool.random(using: &generator), bytes.count >= 8 else { return mutateBytes(&bytes, using: &generator) }
        let length = Int(bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        guard length <= bytes.count - 8 else { return mutateBytes(&bytes, using: &generator) }
        var header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
        let names = mutateJSON(&header, using: &generator)
        let newHeader = Array(header.utf8)
        var newLength = UInt64(newHeader.count).littleEndian
        bytes = withUnsafeBytes(of: &newLength) { Array($0) } + newHeader + bytes[(8 + length)...]
        return ["header JSON: " + names.joined(separator: ", ")]
    }

    @Test("COCO manifests: polygons, uncompressed and compressed RLE, empty segmentations, kept fields")
    func cocoManifest() {
        let seeds = Self.manifestSeeds.map { Array($0.utf8) }
        let harness = FuzzHarness(parser: "coco")
        expectRegressionsRefused(parser: "coco", harness: harness) { bytes, _ in Self.manifestOutcome(bytes) }
        let counts = harness.campaign(
            seeds: seeds,
            mutate: { bytes, _, generator in
                if Int.random(in: 0..<4, using: &generator) == 0 { return mutateBytes(&bytes, using: &generator) }
                var text = String(decoding: bytes, as: UTF8.self)
                let names = mutateJSON(&text, using: &generator)
                bytes = Array(text.utf8)
                return names
            }
        ) { bytes, _ in Self.manifestOutcome(bytes) }
        expectBothOutcomes(counts, harness)
    }

    @Test("PNG images (libpng), chunk fields edited with valid CRCs")
    func png() throws {
        try fuzzImages(.png)
    }

    @Test("JPEG images (libjpeg-turbo), frame header fields edited")
    func jpeg() throws {
        try fuzzImages(.jpeg)
    }

    // MARK: Parsers under test

    /// Decodes, validates and builds the targets of a manifest (for images of at most 2¹⁶
    /// pixels, to keep the campaign fast; the size limits themselves are tested in
    /// KandinskyDataTests), then expects a write and read to give the same manifest.
    static func manifestOutcome(_ bytes: [UInt8]) -> FuzzOutcome {
        do throws(DataError) {
            let manifest = try COCOManifest.decode(Data(bytes), file: "fuzz.json")
            try manifest.validate(file: "fuzz.json")
            let byImage = manifest.annotationsByImage()
            for image in manifest.images where image.width * image.height <= 1 << 16 {
                _ = try COCOManifest.target(
                    height: image.height, width: image.width, annotations: byImage[image.id] ?? [],
                    categories: manifest.categories, file: "fuzz.json")
            }
            // What was accepted is written back and read again unchanged.
            let again = try COCOManifest.decode(manifest.encoded(), file: "fuzz-rewritten.json")
            #expect(again == manifest, "a manifest accepted by the reader did not survive a write and read")
            return .success
        } catch {
            return .typedError
        }
    }

    /// Decodes an image expecting its seed's size (as a manifest would), and, when the header
    /// disagrees, again with no expectation (only the pixel limit), so that both paths are fuzzed.
    static func imageOutcome(_ bytes: [UInt8], expected: ImageSize) -> FuzzOutcome {
        let data = Data(bytes)
        do throws(DataError) {
            _ = try RGBImage(decoding: data, file: "fuzz", expectedSize: expected)
            return .success
        } catch  where error.kind == .imageSizeMismatch {
            do throws(DataError) {
                _ = try RGBImage(decoding: data, file: "fuzz")
                return .typedError
            } catch { return .typedError }
        } catch {
            return .typedError
        }
    }

    /// Edits the header dictionary of a `.npy` file (`{'descr': '<f4', 'shape': (2, 3), …}`) with
    /// the JSON token mutations (extreme shape numbers, deleted or swapped tokens) and writes its
    /// new length, so that the edits reach the header parser instead of the length check.
    static func mutateNumpyHeader(_ bytes: inout [UInt8], using generator: inout SeededGenerator) -> [String] {
        guard bytes.count >= 10, (1...3).contains(bytes[6]) else { return mutateBytes(&bytes, using: &generator) }
        let fieldSize = bytes[6] == 1 ? 2 : 4
        let start = 8 + fieldSize
        let length = (0..<fieldSize).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
        guard start + length <= bytes.count else { return mutateBytes(&bytes, using: &generator) }
        var header = String(decoding: bytes[start..<(start + length)], as: UTF8.self)
        let names = mutateJSON(&header, using: &generator)
        let newHeader = Array(header.utf8)
        guard newHeader.count < (fieldSize == 2 ? 1 << 16 : 1 << 31) else { return names }
        let lengthField = (0..<fieldSize).map { UInt8(truncatingIfNeeded: newHeader.count >> (8 * $0)) }
        bytes = Array(bytes[0..<8]) + lengthField + newHeader + bytes[(start + length)...]
        return ["header: " + names.joined(separator: ", ")]
    }

    // MARK: Seeds

    static let pixels: [UInt8] = (0..<(5 * 3 * 3)).map { UInt8(truncatingIfNeeded: $0 * 37) }

    /// Small manifests covering every form the reader knows.
    static let manifestSeeds: [String] = {
        var mask = [UInt8](repeating: 0, count: 6 * 8)
        for y in 1..<5 { for x in 2..<7 { mask[y * 8 + x] = 1 } }
        let compressed = RunLengthEncoding(mask: mask, height: 6, width: 8).compressedCounts
        let images =
            #"[{"id": 1, "file_name": "a.jpg", "width": 8, "height": 6, "license": 3}, {"id": 2, "file_name": "b.png", "width": 5, "height": 4}]"#
        let categories = #"[{"id": 1, "name": "person", "supercategory": "person"}, {"id": 2, "name": "clutter"}]"#
        return [
            #"{"info": {"year": 2017, "notes": ["a", 1.5, null, true]}, "images": \#(images), "categories": \#(categories), "annotations": [{"id": 10, "image_id": 1, "category_id": 1, "segmentation": [[1, 1, 6.5, 1, 6.5, 4.25, 1, 4.25], [0, 0, 2, 0, 2, 2]], "area": 20.5, "bbox": [1, 1, 5.5, 3.25], "iscrowd": 0}, {"id": 11, "image_id": 2, "category_id": 2, "segmentation": [], "iscrowd": 0}]}"#,
            #"{"images": \#(images), "categories": \#(categories), "annotations": [{"id": 20, "image_id": 1, "category_id": 1, "iscrowd": 1, "segmentation": {"size": [6, 8], "counts": [9, 4, 2, 4, 2, 4, 2, 4, 2, 4, 11]}}, {"id": 21, "image_id": 2, "category_id": 1, "iscrowd": 1, "segmentation": {"size": [4, 5], "counts": [20]}}]}"#,
            #"{"images": \#(images), "categories": \#(categories), "annotations": [{"id": 30, "image_id": 1, "category_id": 1, "iscrowd": 0, "segmentation": {"size": [6, 8], "counts": "\#(compressed)"}}, {"id": 31, "image_id": 2, "category_id": 2, "segmentation": [[0, 0, 4, 0, 4, 3, 0, 3]]}]}"#,
        ]
    }()

    // MARK: Helpers

    /// The parity fixtures of the other test targets, written by numpy, safetensors, Pillow and
    /// libjpeg (one copy, read in place): `.npy` and safetensors files of KandinskyCoreTests,
    /// PNG and JPEG images of KandinskyDataTests.
    static let seedDirectories = [
        Fixtures(ofTestTarget: "KandinskyCoreTests").url("npy"),
        Fixtures(ofTestTarget: "KandinskyCoreTests").url("safetensors"),
        Fixtures(ofTestTarget: "KandinskyDataTests").url("images"),
    ]

    /// The seed files with the given extension, in name order.
    func seedFiles(withExtension ext: String) -> [[UInt8]] {
        Self.seedDirectories.flatMap { directory in
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            return names.filter { $0.hasSuffix("." + ext) }.sorted().map {
                Array(try! Data(contentsOf: directory.appendingPathComponent($0)))
            }
        }
    }

    /// Runs a campaign whose parser reads a file: each input is written to one scratch file first.
    /// An input is accepted when `read` returns and refused when it throws its typed error `E`.
    func fuzzFile<E: Error>(
        parser: String, seeds: [[UInt8]], mutate: (inout [UInt8], Int, inout SeededGenerator) -> [String],
        _ read: (URL) throws(E) -> Void
    ) throws {
        try withScratchDirectory("fuzz") { directory in
            let url = directory.appendingPathComponent("\(parser).input")
            let outcome = { (bytes: [UInt8], _: Int) -> FuzzOutcome in
                try! Data(bytes).write(to: url)
                do throws(E) {
                    try read(url)
                    return .success
                } catch { return .typedError }
            }
            let harness = FuzzHarness(parser: parser)
            expectRegressionsRefused(parser: parser, harness: harness, outcome)
            let counts = harness.campaign(seeds: seeds, mutate: mutate, outcome)
            expectBothOutcomes(counts, harness)
        }
    }

    /// Runs a campaign over files in the safetensors layout (safetensors files, calibrated models),
    /// mutated by ``mutateSafetensors(_:using:)``.
    func fuzzSafetensorsLayout<E: Error>(parser: String, seeds: [[UInt8]], _ read: (URL) throws(E) -> Void) throws {
        try fuzzFile(
            parser: parser, seeds: seeds,
            mutate: { bytes, _, generator in
                Self.mutateSafetensors(&bytes, using: &generator)
            }, read)
    }

    /// An image format under test: the parser's name (in reports and under
    /// `Fixtures/regressions/`), the extension of its seed files, its encoder (which gives one more
    /// seed, ``pixels`` as a 5 × 3 image) and the mutation of its inputs.
    struct ImageFormat {
        let parser: String
        let seedExtension: String
        let encode: (_ rgb8: [UInt8], _ width: Int, _ height: Int) -> Data
        let mutate: (inout [UInt8], inout SeededGenerator) -> [String]

        /// PNG: a chunk field edited with a valid CRC, or bytes, one half each.
        static var png: ImageFormat {
            ImageFormat(
                parser: "png", seedExtension: "png", encode: { PNGImage.encode(rgb8: $0, width: $1, height: $2) }
            ) { bytes, generator in
                Bool.random(using: &generator)
                    ? PNGChunks.mutate(&bytes, using: &generator) : mutateBytes(&bytes, using: &generator)
            }
        }

        /// JPEG: frame header fields edited.
        static var jpeg: ImageFormat {
            ImageFormat(
                parser: "jpeg", seedExtension: "jpg", encode: { JPEGImage.encode(rgb8: $0, width: $1, height: $2) }
            ) { bytes, generator in
                JPEGMarkers.mutate(&bytes, using: &generator)
            }
        }
    }

    /// Runs an image campaign over the seed files of `format` and its encoded ``pixels``: each
    /// input is decoded expecting its seed's size (see ``imageOutcome(_:expected:)``).
    func fuzzImages(_ format: ImageFormat) throws {
        let seeds = seedFiles(withExtension: format.seedExtension) + [Array(format.encode(Self.pixels, 5, 3))]
        let sizes = try seeds.map { seed in
            let image = try RGBImage(decoding: Data(seed), file: "seed")
            return ImageSize(width: image.width, height: image.height)
        }
        let harness = FuzzHarness(parser: format.parser)
        expectRegressionsRefused(parser: format.parser, harness: harness) { bytes, _ in
            Self.imageOutcome(bytes, expected: ImageSize(width: 170, height: 113))
        }
        let counts = harness.campaign(
            seeds: seeds, mutate: { bytes, _, generator in format.mutate(&bytes, &generator) }
        ) { bytes, seedIndex in
            Self.imageOutcome(bytes, expected: sizes[seedIndex])
        }
        expectBothOutcomes(counts, harness)
    }

    /// Replays `Fixtures/regressions/<parser>/*`: each must be refused with a typed error, except
    /// those named `valid-…`, valid inputs that once failed a check of the campaign, which must
    /// be accepted (and pass the parser's own expectations again).
    func expectRegressionsRefused(
        parser: String, harness: FuzzHarness, _ outcome: ([UInt8], Int) -> FuzzOutcome,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let directory = Fixtures(in: .module).url("regressions/\(parser)")
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return }
        for name in names.sorted() {
            let bytes = Array(try! Data(contentsOf: directory.appendingPathComponent(name)))
            let result = harness.run(bytes, description: "\(parser) regression fixture \(name)", crashFileName: name) {
                outcome($0, 0)
            }
            let expected: FuzzOutcome = name.hasPrefix("valid-") ? .success : .typedError
            #expect(
                result == expected, "regression fixture \(parser)/\(name): \(result.rawValue)",
                sourceLocation: sourceLocation)
        }
    }

    /// A campaign whose inputs were all refused (or all accepted) tests nothing: its mutations
    /// never reach past the first check (or never change anything).
    func expectBothOutcomes(
        _ counts: FuzzCounts, _ harness: FuzzHarness, sourceLocation: SourceLocation = #_sourceLocation
    ) {
        let settings = FuzzHarness.Settings.fromEnvironment
        print(harness.report(counts, settings: settings))
        #expect(counts.total == settings.iterations, sourceLocation: sourceLocation)
        if settings.iterations >= 1000 {
            #expect(
                counts.success > 0 && counts.typedError > 0, "\(harness.report(counts, settings: settings))",
                sourceLocation: sourceLocation)
        }
    }

    /// The bytes `write` puts in a file `name` (in a scratch directory, removed again).
    func seedBytes(writtenTo name: String, by write: (URL) throws -> Void) throws -> [UInt8] {
        return try withScratchDirectory("fuzz") { directory in
            try write(directory.appendingPathComponent(name))
            return Array(try Data(contentsOf: directory.appendingPathComponent(name)))
        }
    }
}
