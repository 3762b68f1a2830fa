import Foundation
import KandinskyCore
import KandinskyTestSupport
import Testing

/// `predict-sets` over shards, one shard at a time: a directory `--out` gets one sets file per
/// shard, each the matching N-slice of the sets of the whole array, and a `.npy` `--out` the
/// whole array's sets, byte for byte.
@Suite struct PredictSetsShardsCLITests {
    typealias Workspace = ShardsCLITests.Workspace

    /// Curves calibrated on the whole arrays, and the sets of the whole probabilities from them.
    struct WholeRun {
        let workspace: Workspace
        let sets: ShapedArray<UInt8>
        let summary: String

        /// Runs `body` with the run made in a fresh workspace, removed afterwards.
        static func with(_ body: (WholeRun) throws -> Void) throws {
            try Workspace.with { workspace in try body(WholeRun(in: workspace)) }
        }

        private init(in workspace: Workspace) throws {
            self.workspace = workspace
            let curves = try runKandinsky(
                [
                    "calibrate-scores", "--probs", "probs.npy", "--targets", "labels.npy", "--method", "kmeans",
                    "--clusters", "2", "--out", "curves.safetensors",
                ], in: workspace.directory)
            #expect(curves.status == 0, "\(curves.stderr)")
            let whole = try Self.predictSets(["--probs", "probs.npy"], out: "whole.npy", in: workspace)
            #expect(whole.status == 0, "\(whole.stderr)")
            sets = try Self.uint8(workspace.url("whole.npy"))
            summary = whole.stdout
        }

        /// Runs `predict-sets` with the whole run's curves at alpha 0.1.
        static func predictSets(_ probs: [String], out: String, in workspace: Workspace) throws -> KandinskyRun {
            try runKandinsky(
                ["predict-sets"] + probs + ["--curves", "curves.safetensors", "--alpha", "0.1", "--out", out],
                in: workspace.directory)
        }

        static func uint8(_ url: URL) throws -> ShapedArray<UInt8> {
            guard case .uint8(let sets) = try NumpyFile.read(contentsOf: url) else {
                Issue.record("\(url.path) does not hold U8 sets")
                return ShapedArray(shape: [0], repeating: 0)
            }
            return sets
        }

        /// The sets of the whole run's images `images`, [images.count, C, H, W].
        func slice(_ images: Range<Int>) -> [UInt8] {
            let image = sets.count / sets.shape[0]
            return Array(sets.scalars[(images.lowerBound * image)..<(images.upperBound * image)])
        }

        /// The image ranges of the workspace's shards.
        var shardImages: [Range<Int>] {
            var start = 0
            return workspace.sizes.map { size in
                defer { start += size }
                return start..<(start + size)
            }
        }
    }

    @Test func aDirectoryGetsEachShardsSliceOfTheWholeSets() throws {
        try WholeRun.with { whole in
            let workspace = whole.workspace
            try FileManager.default.createDirectory(at: workspace.url("existing"), withIntermediateDirectories: true)
            let forms: [(probs: [String], out: String, names: [String])] = [
                (["--probs", "p"], "sets/", ["p-0.npy", "p-1.npy", "p-2.npy"]),
                (
                    ["--probs", "shard-*.safetensors", "--probs-key", "probs"], "existing",
                    ["shard-0.npy", "shard-1.npy", "shard-2.npy"]
                ),
            ]
            for form in forms {
                let run = try WholeRun.predictSets(form.probs, out: form.out, in: workspace)
                #expect(run.status == 0, "\(form.probs): \(run.stderr)")
                #expect(
                    try FileManager.default.contentsOfDirectory(atPath: workspace.path(form.out)).sorted() == form.names
                )
                for (name, images) in zip(form.names, whole.shardImages) {
                    let sets = try WholeRun.uint8(workspace.url(form.out).appendingPathComponent(name))
                    #expect(sets.shape == [images.count] + whole.sets.shape.dropFirst(), "\(name)")
                    #expect(sets.scalars == whole.slice(images), "\(name): the sets of images \(images)")
                }
                // The same mean set size as the whole run, over all shards.
                let mean = try #require(whole.summary.split(separator: ",").last)
                #expect(run.stdout.hasPrefix("\(form.out): prediction sets of 3 shards, [9, 2, 4, 5] in all,"))
                #expect(run.stdout.hasSuffix(mean), "\(run.stdout)")
            }
        }
    }

    @Test func aDirectoryTakesASingleShard() throws {
        try WholeRun.with { whole in
            let workspace = whole.workspace
            try FileManager.default.createDirectory(at: workspace.url("single"), withIntermediateDirectories: true)
            let run = try WholeRun.predictSets(["--probs", "p/p-2.npy"], out: "single", in: workspace)
            #expect(run.status == 0, "\(run.stderr)")
            #expect(run.stdout.hasPrefix("single: prediction sets of 1 shard, [5, 2, 4, 5] in all,"), "\(run.stdout)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path("single")) == ["p-2.npy"])
            #expect(try WholeRun.uint8(workspace.url("single/p-2.npy")).scalars == whole.slice(4..<9))
        }
    }

    @Test func aNpyFileOfShardsIsTheWholeRunsFile() throws {
        try WholeRun.with { whole in
            let workspace = whole.workspace
            for (k, probs) in [["--probs", "p"], ["--probs", "shard-*.safetensors", "--probs-key", "probs"]]
                .enumerated()
            {
                let run = try WholeRun.predictSets(probs, out: "sharded-\(k).npy", in: workspace)
                #expect(run.status == 0, "\(probs): \(run.stderr)")
                #expect(try workspace.data("sharded-\(k).npy") == workspace.data("whole.npy"), "\(probs)")
                #expect(run.stdout.dropFirst("sharded-\(k).npy".count) == whole.summary.dropFirst("whole.npy".count))
            }
        }
    }

    @Test func shardsThatWouldWriteOneFileAreRefusedBeforeAnyIsWritten() throws {
        try WholeRun.with { whole in
            let workspace = whole.workspace
            try FileManager.default.createDirectory(at: workspace.url("q"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: workspace.url("p/p-1.npy"), to: workspace.url("q/p-1.npy"))
            try FileManager.default.copyItem(
                at: workspace.url("shard-2.safetensors"), to: workspace.url("q/p-2.safetensors"))
            let inputs = try FileManager.default.contentsOfDirectory(atPath: workspace.path("p")).sorted()
            let cases: [(probs: [String], out: String, mentions: [String])] = [
                (["--probs", "p,q/p-1.npy"], "sets/", ["p/p-1.npy", "q/p-1.npy", "would both write"]),
                (
                    ["--probs", "p/p-2.npy,q/p-2.safetensors", "--probs-key", "probs"], "sets/",
                    ["p/p-2.npy", "q/p-2.safetensors"]
                ),
                (["--probs", "p"], "p/", ["p/p-0.npy", "would replace the probabilities shard"]),
            ]
            for (probs, out, mentions) in cases {
                let run = try WholeRun.predictSets(probs, out: out, in: workspace)
                #expect(run.status != 0, "\(probs)")
                expectOneErrorLine(run, mentioning: mentions)
                #expect(!FileManager.default.fileExists(atPath: workspace.path("sets")), "\(probs): sets/ was written")
            }
            #expect(try FileManager.default.contentsOfDirectory(atPath: workspace.path("p")).sorted() == inputs)
            #expect(try workspace.data("q/p-1.npy") == workspace.data("p/p-1.npy"))
        }
    }
}
