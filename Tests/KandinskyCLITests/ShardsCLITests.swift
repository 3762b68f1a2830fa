import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// Shards in every form the tool takes (files, comma lists, directories, patterns,
/// safetensors), and score + merge-scores + calibrate-scores --scores, against the whole arrays.
@Suite struct ShardsCLITests {
    /// Sigmoid outputs [N, 1, H, W] and label maps [N, H, W], whole and as shards of 3, 1 and 5 images.
    struct Workspace {
        let directory: URL
        let sizes = [3, 1, 5], h = 4, w = 5

        /// Runs `body` with the files written to a scratch directory, removed afterwards.
        static func with(_ body: (Workspace) throws -> Void) throws {
            try withScratchDirectory("shards-cli") { directory in try body(Workspace(in: directory)) }
        }

        private init(in directory: URL) throws {
            self.directory = directory
            for folder in ["p", "t"] {
                try FileManager.default.createDirectory(
                    at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
            }
            let n = sizes.reduce(0, +)
            let plane = h * w
            var generator = SeededGenerator(seed: 5)
            let p = (0..<(n * plane)).map { _ in generator.nextUnitFloat() }
            let labels = p.map { Int64(generator.nextUnitFloat() < $0 ? 1 : 0) }
            try NumpyFile.write(.float32(Tensor(shape: [n, 1, h, w], scalars: p)), to: url("probs.npy"))
            try NumpyFile.write(.int64(ShapedArray(shape: [n, h, w], scalars: labels)), to: url("labels.npy"))
            var start = 0
            for (k, size) in sizes.enumerated() {
                let slice = (start * plane)..<((start + size) * plane)
                let probs = AnyShapedArray.float32(Tensor(shape: [size, 1, h, w], scalars: p[slice]))
                let targets = AnyShapedArray.int64(ShapedArray(shape: [size, h, w], scalars: labels[slice]))
                try NumpyFile.write(probs, to: url("p/p-\(k).npy"))
                try NumpyFile.write(targets, to: url("t/t-\(k).npy"))
                try SafetensorsFile(tensors: [("probs", probs), ("labels", targets)]).write(
                    to: url("shard-\(k).safetensors"))
                start += size
            }
        }

        func url(_ name: String) -> URL { directory.appendingPathComponent(name) }
        func path(_ name: String) -> String { url(name).path }
        func data(_ name: String) throws -> Data { try Data(contentsOf: url(name)) }
    }

    func calibrate(
        _ inputs: [String], _ out: String, method: String = "kmeans", in workspace: Workspace,
        sourceLocation: SourceLocation = #_sourceLocation
    ) throws {
        let run = try runKandinsky(
            ["calibrate-scores"] + inputs + ["--method", method, "--clusters", "2", "--out", workspace.path(out)],
            in: workspace.directory)
        #expect(run.status == 0, "\(run.stderr)", sourceLocation: sourceLocation)
    }

    @Test func everyShardFormGivesTheCurvesOfTheWholeArrays() throws {
        try Workspace.with { workspace in
            try calibrate(["--probs", "probs.npy", "--targets", "labels.npy"], "whole.safetensors", in: workspace)
            let forms: [[String]] = [
                [
                    "--probs", "p/p-0.npy", "--probs", "p/p-1.npy,p/p-2.npy", "--targets", "t/t-0.npy,t/t-1.npy",
                    "--targets", "t/t-2.npy",
                ],
                ["--probs", "p", "--targets", "t"],
                ["--probs", "p/p-*.npy", "--targets", "t/t-[0-9].npy"],
                [
                    "--probs", "shard-*.safetensors", "--probs-key", "probs", "--targets", "shard-*.safetensors",
                    "--targets-key", "labels",
                ],
            ]
            for (k, form) in forms.enumerated() {
                try calibrate(form, "sharded-\(k).safetensors", in: workspace)
                #expect(
                    try workspace.data("sharded-\(k).safetensors") == workspace.data("whole.safetensors"), "\(form)")
            }
        }
    }

    @Test func mergedScoreStoresGiveTheCurvesOfAllShards() throws {
        try Workspace.with { workspace in
            for k in 0..<3 {
                let run = try runKandinsky(
                    ["score", "--probs", "p/p-\(k).npy", "--targets", "t/t-\(k).npy", "--out", "part-\(k).kscores"],
                    in: workspace.directory)
                #expect(run.status == 0, "\(run.stderr)")
            }
            let merge = try runKandinsky(
                ["merge-scores", "part-0.kscores", "part-1.kscores", "part-2.kscores", "--out", "all.kscores"],
                in: workspace.directory)
            #expect(merge.status == 0, "\(merge.stderr)")
            #expect(merge.stdout.contains("of 9 images from 3 parts"))
            let whole = try runKandinsky(
                ["score", "--probs", "probs.npy", "--targets", "labels.npy", "--out", "whole.kscores"],
                in: workspace.directory)
            #expect(whole.status == 0)
            #expect(try workspace.data("all.kscores") == workspace.data("whole.kscores"))
            for method in ["pixel", "image", "kmeans"] {
                try calibrate(
                    ["--probs", "p", "--targets", "t"], "shards-\(method).safetensors", method: method, in: workspace)
                try calibrate(
                    ["--scores", "all.kscores"], "merged-\(method).safetensors", method: method, in: workspace)
                #expect(
                    try workspace.data("merged-\(method).safetensors")
                        == workspace.data("shards-\(method).safetensors"),
                    "\(method)")
            }
        }
    }

    /// Disk-backed calibration: shards scored part by part into --scores-dir (parts of at most
    /// 2 images' possible scores, so the 3-image shard is a part alone and the others pair up)
    /// and merged, or a score store mapped, give the curves of the in-memory run, byte for byte.
    @Test func diskBackedScoresGiveTheCurvesOfTheInMemoryRun() throws {
        try Workspace.with { workspace in
            let partScores = String(2 * 2 * workspace.h * workspace.w)
            let whole = try runKandinsky(
                ["score", "--probs", "probs.npy", "--targets", "labels.npy", "--out", "whole.kscores"],
                in: workspace.directory)
            #expect(whole.status == 0, "\(whole.stderr)")
            for method in ["pixel", "image", "kmeans"] {
                try calibrate(
                    ["--probs", "p", "--targets", "t"], "memory-\(method).safetensors", method: method, in: workspace)
                try calibrate(
                    ["--probs", "p", "--targets", "t", "--scores-dir", "disk-\(method)", "--part-scores", partScores],
                    "disk-\(method).safetensors", method: method, in: workspace)
                try calibrate(
                    ["--scores", "whole.kscores", "--scores-dir", "mapped-\(method)"], "mapped-\(method).safetensors",
                    method: method, in: workspace)
                let expected = try workspace.data("memory-\(method).safetensors")
                #expect(try workspace.data("disk-\(method).safetensors") == expected, "\(method): from shards on disk")
                #expect(try workspace.data("mapped-\(method).safetensors") == expected, "\(method): mapped store")
                // The directory keeps the merged store (the store of all shards) and nothing else.
                #expect(
                    try FileManager.default.contentsOfDirectory(atPath: workspace.path("disk-\(method)"))
                        == ["scores.kscores"])
                #expect(try workspace.data("disk-\(method)/scores.kscores") == workspace.data("whole.kscores"))
            }
        }
    }

    @Test func aScoresDirThatCannotBeMadeIsRefusedNamingIt() throws {
        try Workspace.with { workspace in
            try Data("not a directory".utf8).write(to: workspace.url("taken"))
            let run = try runKandinsky(
                [
                    "calibrate-scores", "--probs", "p", "--targets", "t", "--scores-dir", "taken", "--method", "pixel",
                    "--out", "x.safetensors",
                ], in: workspace.directory)
            #expect(run.status != 0)
            #expect(
                run.stderr.trimmingCharacters(in: .newlines)
                    == "Error: \(workspace.path("taken")): --scores-dir: cannot create a directory for the score parts: Not a directory"
            )
            #expect(!FileManager.default.fileExists(atPath: workspace.path("x.safetensors")))
        }
    }

    /// The files and the printed summary of evaluate-scores on `inputs`, with `options`: every
    /// file of the folder by name, and standard output with the folder's path taken out.
    func evaluate(
        _ inputs: [String], _ options: [String], out: String, in workspace: Workspace,
        environment: [String: String?] = [:], sourceLocation: SourceLocation = #_sourceLocation
    ) throws -> (files: [String: Data], stdout: String) {
        let run = try runKandinsky(
            ["evaluate-scores"] + inputs + ["--curves", "curves.safetensors", "--out", out] + options,
            in: workspace.directory, environment: environment)
        #expect(run.status == 0, "\(run.stderr)", sourceLocation: sourceLocation)
        let names = try FileManager.default.contentsOfDirectory(atPath: workspace.path(out))
        var files: [String: Data] = [:]
        for name in names { files[name] = try workspace.data("\(out)/\(name)") }
        return (files, run.stdout.replacingOccurrences(of: out, with: "OUT"))
    }

    @Test func evaluationOfShardsWritesTheFilesOfTheWholeArrays() throws {
        try Workspace.with { workspace in
            try calibrate(["--probs", "probs.npy", "--targets", "labels.npy"], "curves.safetensors", in: workspace)
            // Float16 shards and their whole, and Float32 and Float16 shards mixed, whose whole is
            // Float32 (every evaluation reads a probability as Float32).
            let (h, w) = (workspace.h, workspace.w)
            try FileManager.default.createDirectory(at: workspace.url("p16"), withIntermediateDirectories: true)
            var halves: [Float16] = []
            var mixed: [Float] = []
            for (k, size) in workspace.sizes.enumerated() {
                guard case .float32(let p) = try NumpyFile.read(contentsOf: workspace.url("p/p-\(k).npy")) else {
                    Issue.record("p-\(k).npy is not Float32")
                    return
                }
                let half = p.scalars.map { Float16($0) }
                try NumpyFile.write(
                    .float16(HalfTensor(shape: [size, 1, h, w], scalars: half)), to: workspace.url("p16/p-\(k).npy"))
                halves += half
                mixed += k == 0 ? p.scalars : half.map { Float($0) }
            }
            let n = workspace.sizes.reduce(0, +)
            try NumpyFile.write(
                .float16(HalfTensor(shape: [n, 1, h, w], scalars: halves)), to: workspace.url("probs16.npy"))
            try NumpyFile.write(.float32(Tensor(shape: [n, 1, h, w], scalars: mixed)), to: workspace.url("mixed.npy"))
            let cases: [(whole: [String], shards: [String])] = [
                (["--probs", "probs.npy", "--targets", "labels.npy"], ["--probs", "p", "--targets", "t"]),
                (["--probs", "probs16.npy", "--targets", "labels.npy"], ["--probs", "p16", "--targets", "t"]),
                (
                    ["--probs", "mixed.npy", "--targets", "labels.npy"],
                    ["--probs", "p/p-0.npy,p16/p-1.npy,p16/p-2.npy", "--targets", "t"]
                ),
            ]
            let optionSets: [[String]] = [
                [],
                [
                    "--bins", "7", "--indexing", "reference", "--precision", "half-probabilities", "--class-index", "0",
                    "--pixel", "1,3", "--alphas", "0.3,0.15",
                ],
                ["--indexing", "interpolated", "--pixel", "3,0", "--alphas", "0.25"],
            ]
            for (k, (whole, shards)) in cases.enumerated() {
                for (o, options) in optionSets.enumerated() {
                    // Three workers cut the 9 images into chunks of 3 that the shards of 3, 1 and 5 straddle.
                    for threads in ["2", "3"] {
                        let environment = ["KANDINSKY_THREADS": threads]
                        let expected = try evaluate(
                            whole, options, out: "whole-\(k)-\(o)-\(threads)", in: workspace, environment: environment)
                        let sharded = try evaluate(
                            shards, options, out: "sharded-\(k)-\(o)-\(threads)", in: workspace,
                            environment: environment)
                        #expect(expected.files.count >= 10, "\(expected.files.keys.sorted())")
                        #expect(sharded.files.keys.sorted() == expected.files.keys.sorted(), "\(shards) \(options)")
                        for (name, data) in expected.files {
                            #expect(sharded.files[name] == data, "\(shards) \(options), \(threads) threads: \(name)")
                        }
                        #expect(sharded.stdout == expected.stdout, "\(shards) \(options)")
                    }
                }
            }
        }
    }

    @Test func mismatchedShardsAreRefusedNamingTheShard() throws {
        try Workspace.with { workspace in
            try NumpyFile.write(.float32(Tensor(shape: [2, 1, 4, 6], repeating: 0.5)), to: workspace.url("odd.npy"))
            let cases: [([String], [String])] = [
                (
                    ["--probs", "p/p-0.npy,odd.npy", "--targets", "t/t-0.npy,t/t-1.npy"],
                    ["odd.npy", "shape", "[N, 1, 4, 5]", "[2, 1, 4, 6]"]
                ),
                (["--probs", "p", "--targets", "t/t-0.npy"], ["--probs names 3 shards but --targets 1"]),
                (
                    ["--probs", "p", "--targets", "t/t-1.npy,t/t-0.npy,t/t-2.npy"],
                    ["t/t-1.npy", "shape[0]", "N = 3", "p/p-0.npy"]
                ),
                (
                    ["--probs", "shard-0.safetensors", "--targets", "t/t-0.npy"],
                    ["shard-0.safetensors", "expected one tensor or a key"]
                ),
                (["--probs", "nothing-*.npy", "--targets", "t"], ["no .npy or .safetensors file matches"]),
                (["--scores", "x.kscores", "--probs", "p"], ["give a score store or --probs and --targets, not both"]),
            ]
            for (arguments, mentions) in cases {
                let run = try runKandinsky(
                    ["calibrate-scores"] + arguments + ["--method", "pixel", "--out", "x.safetensors"],
                    in: workspace.directory)
                #expect(run.status != 0, "\(arguments)")
                for text in mentions {
                    #expect(run.stderr.contains(text), "\(arguments): \(run.stderr) should mention \(text)")
                }
            }
        }
    }
}
