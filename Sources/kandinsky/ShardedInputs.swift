import ArgumentParser
import Foundation
import KandinskyCalibration
import KandinskyCore

#if canImport(Glibc)
    import Glibc
#endif

/// The `.npy` and `.safetensors` shards named by `--probs` and `--targets`: consecutive runs of
/// images that concatenate along N.
///
/// Each value of the option (it may be repeated, and each value may be a comma-separated list)
/// is a file, a directory (its `.npy` and `.safetensors` files) or a glob pattern (`*`, `?`,
/// `[…]`); a directory's or a pattern's files come sorted by name in byte order, so shards
/// named with zero-padded numbers (`p-0000.npy`, `p-0001.npy`, …) concatenate in numeric
/// order, and the values follow one another in the order given. Probability shard k pairs with
/// target shard k: both lists must have as many shards and each pair the same N, so one pair
/// at a time holds the same images (a total-N rule would need two shards of one side at once).
struct ShardedInputs {
    /// One shard: its path and the shape of its array, read from the header alone.
    struct Shard {
        let path: String
        let shape: [Int]
    }

    let probabilities: [Shard]
    let targets: [Shard]
    let probabilitiesKey: String?
    let targetsKey: String?

    /// Resolves and checks the shards: every probabilities shard [n, C, H, W] with the first
    /// one's C, H and W, every targets shard with the first one's shape after N, the lists of
    /// equal length and each pair of equal N.
    init(probabilities: [String], targets: [String], probabilitiesKey: String?, targetsKey: String?) throws {
        self.probabilitiesKey = probabilitiesKey
        self.targetsKey = targetsKey
        self.probabilities = try Self.shards(probabilities, option: "--probs", key: probabilitiesKey)
        self.targets = try Self.shards(targets, option: "--targets", key: targetsKey)
        try Self.checkConsistent(self.probabilities, field: "probabilities")
        try Self.checkConsistent(self.targets, field: "targets")
        guard self.probabilities.count == self.targets.count else {
            throw ValidationError(
                "--probs names \(self.probabilities.count) shards but --targets \(self.targets.count): "
                    + "probability shard k pairs with target shard k")
        }
        for (p, t) in zip(self.probabilities, self.targets) where p.shape.first != t.shape.first {
            throw CalibrationError.shapeMismatch(
                source: t.path, field: "shape[0]",
                expected: "N = \(p.shape.first ?? 0) images as its probabilities shard \(p.path)", found: t.shape)
        }
    }

    /// Probabilities shards alone (prediction sets).
    init(probabilities: [String], probabilitiesKey: String?) throws {
        self.probabilitiesKey = probabilitiesKey
        self.targetsKey = nil
        self.probabilities = try Self.shards(probabilities, option: "--probs", key: probabilitiesKey)
        self.targets = []
        try Self.checkConsistent(self.probabilities, field: "probabilities")
    }

    /// The first shard's path, or "N shards from FIRST" in summaries and warnings.
    static func describe(_ shards: [Shard]) -> String {
        shards.count == 1 ? shards[0].path : "\(shards.count) shards from \(shards[0].path)"
    }

    // MARK: - Building scores

    /// The score store of every shard pair, read one pair at a time (``ScoreStore/Builder``):
    /// a first pass over the targets counts the scores, a second reads each pair and writes its
    /// scores. Clamping warnings are printed per shard.
    func scoreStore(precision: ScorePrecision) throws -> ScoreStore {
        try scoreStore(precision: precision, pairs: probabilities.indices)
    }

    /// The score store of every shard pair built on disk, for more scores than memory holds:
    /// consecutive shard pairs of at most `partScores` possible scores (n·C·H·W; one pair when
    /// a single one has more) are scored in memory and written as parts, which are merged into
    /// `directory/scores.kscores` (``ScoreStore/merge(_:to:)``, bit for bit the store of all
    /// shards at once) and removed. Memory stays at one part, one shard and the merge's blocks.
    ///
    /// - Returns: the merged file, to be opened with ``ScoreStore/init(mapping:spillDirectory:residentBudget:)``.
    func scoreStoreFile(precision: ScorePrecision, in directory: URL, partScores: Int) throws -> URL {
        let perImage = try checkedShape().dropFirst().reduce(1, *)
        var batches: [Range<Int>] = []
        var start = 0
        var scores = 0
        for (k, shard) in probabilities.enumerated() {
            let shardScores = shard.shape[0] * perImage
            if k > start && scores + shardScores > partScores {
                batches.append(start..<k)
                (start, scores) = (k, 0)
            }
            scores += shardScores
        }
        batches.append(start..<probabilities.count)
        let merged = directory.appendingPathComponent("scores.kscores")
        // The parts go to a temporary of the merged file: one that a killed run leaves behind
        // is removed by the next run's write of the merged file.
        let parts = AtomicFile.temporaryURL(for: merged)
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        guard mkdir(parts.path, 0o777) == 0 else {
            throw FileFormatError(
                file: directory.path, field: "--scores-dir",
                problem: "cannot create a directory for the score parts: \(String(cString: strerror(errno)))")
        }
        defer { try? FileManager.default.removeItem(at: parts) }
        var partFiles: [URL] = []
        for (k, batch) in batches.enumerated() {
            let part = parts.appendingPathComponent(String(format: "part-%06d.kscores", k))
            try scoreStore(precision: precision, pairs: batch).write(to: part)
            partFiles.append(part)
        }
        try ScoreStore.merge(partFiles, to: merged)
        return merged
    }

    /// The shape of the classes of the first probabilities shard, checked to be [N, C, H, W]
    /// with C, H, W > 0: [N, C, H, W], or [N, 2, H, W] for one sigmoid channel
    /// (``CalibrationInput/classShape(of:)``).
    func checkedShape() throws -> [Int] {
        let first = probabilities[0].shape
        guard first.count == 4 else {
            throw CalibrationError.shapeMismatch(
                source: probabilities[0].path, expected: "a rank-4 array [N, C, H, W] or [N, 1, H, W]", found: first)
        }
        guard first.dropFirst().allSatisfy({ $0 > 0 }) else {
            throw CalibrationError.emptyInput(source: probabilities[0].path, shape: first)
        }
        return CalibrationInput.classShape(of: first)
    }

    /// The score store of the shard pairs `pairs`, as ``scoreStore(precision:)`` builds it.
    private func scoreStore(precision: ScorePrecision, pairs: Range<Int>) throws -> ScoreStore {
        let first = try checkedShape()
        var builder = ScoreStore.Builder(
            classCount: first[1], height: first[2], width: first[3], precision: precision)
        let pairs = Array(zip(probabilities[pairs], targets[pairs]))
        for (p, t) in pairs {
            try builder.count(
                targets: CalibrationInput.targets(
                    read(t.path, key: targetsKey), probabilitiesShape: p.shape,
                    targetsSource: t.path, probabilitiesSource: p.path),
                source: t.path)
        }
        for (p, t) in pairs {
            let input = try normalised(p, t)
            switch input.probabilities {
            case .float32(let q):
                try builder.append(
                    probabilities: q, targets: input.targets!, probabilitiesSource: p.path, targetsSource: t.path)
            case .float16(let q):
                try builder.append(
                    probabilities: q, targets: input.targets!, probabilitiesSource: p.path, targetsSource: t.path)
            }
        }
        return builder.finish()
    }

    /// One probabilities shard read and normalised, its clamping warning printed, for commands
    /// that hold one shard at a time.
    func probabilities(of shard: Shard) throws -> ProbabilityArray { try normalised(shard, nil).probabilities }

    /// Shard pair k read and normalised, its clamping warning printed, for commands that hold
    /// one pair at a time.
    func pair(_ k: Int) throws -> CalibrationInput { try normalised(probabilities[k], targets[k]) }

    /// One shard pair read and normalised, its clamping warning printed.
    private func normalised(_ p: Shard, _ t: Shard?) throws -> CalibrationInput {
        let input = try CalibrationInput(
            probabilities: read(p.path, key: probabilitiesKey),
            targets: t.map { try read($0.path, key: targetsKey) },
            probabilitiesSource: p.path, targetsSource: t?.path ?? "targets")
        if let warning = input.clampingWarning { CalibrationInputs.warn(warning) }
        return input
    }

    // MARK: - Files

    /// The array of a shard: a `.npy` file, or the tensor `key` of a `.safetensors` file (the
    /// only tensor when no key is given).
    func read(_ path: String, key: String?) throws -> AnyShapedArray {
        let url = URL(fileURLWithPath: path)
        guard Self.isSafetensors(path) else { return try NumpyFile.read(contentsOf: url) }
        let file = try SafetensorsFile.read(contentsOf: url)
        return try Self.tensor(in: file, key: key, path: path)
    }

    static func isSafetensors(_ path: String) -> Bool { path.hasSuffix(".safetensors") }

    /// The tensor `key` of a safetensors file, or its only tensor.
    static func tensor(in file: SafetensorsFile, key: String?, path: String) throws(FileFormatError) -> AnyShapedArray {
        let names = file.tensors.map(\.name)
        if let key {
            guard let array = file[key] else {
                throw FileFormatError(
                    file: path, field: key,
                    problem:
                        "no tensor named \(key); the file holds \(names.isEmpty ? "none" : names.joined(separator: ", "))"
                )
            }
            return array
        }
        guard names.count == 1 else {
            throw FileFormatError(
                file: path, field: "tensors",
                problem:
                    "expected one tensor or a key (--probs-key, --targets-key) naming one, found \(names.isEmpty ? "none" : names.joined(separator: ", "))"
            )
        }
        return file.tensors[0].array
    }

    /// The files named by an option's values, in order, each with its array's shape.
    static func shards(_ values: [String], option: String, key: String?) throws -> [Shard] {
        let paths = try files(values, option: option)
        return try paths.map { path throws -> Shard in
            if isSafetensors(path) {
                let file = try SafetensorsFile.read(contentsOf: URL(fileURLWithPath: path))
                return Shard(path: path, shape: try tensor(in: file, key: key, path: path).shape)
            }
            return Shard(path: path, shape: try NumpyFile.readHeader(contentsOf: URL(fileURLWithPath: path)).shape)
        }
    }

    /// The files of an option's values: files as given, a directory's `.npy` and `.safetensors`
    /// files and a pattern's matches each sorted by name.
    static func files(_ values: [String], option: String) throws -> [String] {
        let items = values.flatMap { $0.split(separator: ",", omittingEmptySubsequences: true).map(String.init) }
        guard !items.isEmpty else {
            throw ValidationError("\(option): expected at least one file, directory or pattern")
        }
        var paths: [String] = []
        for item in items {
            var isDirectory: ObjCBool = false
            if item.contains(where: { "*?[".contains($0) }) {
                let matches = glob(item).filter { $0.hasSuffix(".npy") || isSafetensors($0) }
                guard !matches.isEmpty else {
                    throw ValidationError("\(option): no .npy or .safetensors file matches '\(item)'")
                }
                paths += matches.sorted(by: byteOrder)
            } else if FileManager.default.fileExists(atPath: item, isDirectory: &isDirectory), isDirectory.boolValue {
                let names = try FileManager.default.contentsOfDirectory(atPath: item)
                    .filter { !$0.hasPrefix(".") && ($0.hasSuffix(".npy") || isSafetensors($0)) }
                guard !names.isEmpty else {
                    throw ValidationError("\(option): the directory \(item) holds no .npy or .safetensors file")
                }
                paths += names.sorted(by: byteOrder).map { URL(fileURLWithPath: item).appendingPathComponent($0).path }
            } else {
                paths.append(item)
            }
        }
        return paths
    }

    /// Names compared as UTF-8 bytes, the order of `ls` in the C locale.
    static func byteOrder(_ a: String, _ b: String) -> Bool { a.utf8.lexicographicallyPrecedes(b.utf8) }

    /// The paths matching a glob(3) pattern.
    static func glob(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard Glibc.glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { matches.gl_pathv[$0].map { String(cString: $0) } }
    }

    /// Every shard of a list has the first one's shape after N (and its rank).
    static func checkConsistent(_ shards: [Shard], field: String) throws {
        guard let first = shards.first else { return }
        for shard in shards.dropFirst()
        where shard.shape.count != first.shape.count || shard.shape.dropFirst() != first.shape.dropFirst() {
            let expected =
                first.shape.count >= 1
                ? "[N" + first.shape.dropFirst().map { ", \($0)" }.joined() + "]" : "\(first.shape)"
            throw CalibrationError.shapeMismatch(
                source: shard.path, field: "shape",
                expected: "\(field) \(expected), as the first shard \(first.path)", found: shard.shape)
        }
    }
}

/// `--probs` and its safetensors key, shared by the commands that read probabilities.
struct ProbabilityOptions: ParsableArguments {
    @Option(
        parsing: .singleValue,
        help:
            "Probabilities [N, C, H, W], or one sigmoid output p [N, 1, H, W] read as classes 1 − p and p (F32, F16 or F64, in [0, 1]; up to 1e-5 outside is clamped with a warning). A .npy or .safetensors file, a directory of them or a glob pattern (quoted); repeat the option or separate values by commas. Shards concatenate along N: a directory's or pattern's files sorted by name in byte order (zero-pad numbers: p-0001.npy), values in the order given; each shard's C, H and W must equal the first's."
    )
    var probs: [String] = []
    @Option(help: "The tensor holding the probabilities in .safetensors shards (default: the file's only tensor).")
    var probsKey: String?

    /// Throws unless `--probs` was given (not `validate()`, which the parser would call even
    /// for a command that may go without probabilities).
    func requireProbabilities() throws {
        guard !probs.isEmpty else {
            throw ValidationError("--probs: expected probabilities (a file, directory or pattern)")
        }
    }

    /// The probabilities shards, resolved and checked.
    func shards() throws -> ShardedInputs { try ShardedInputs(probabilities: probs, probabilitiesKey: probsKey) }
}

/// `--probs`, `--targets` and the safetensors keys, shared by the commands that score.
struct ShardOptions: ParsableArguments {
    @OptionGroup var probabilities: ProbabilityOptions
    @Option(
        parsing: .singleValue,
        help:
            "Targets: one-hot [N, C, H, W] 0/1, a label map [N, H, W] of classes 0..<C, or a 0/1 mask [N, 1, H, W] for single-channel probabilities (any numeric type or bool), given as --probs is. Target shard k pairs with probabilities shard k: as many shards, the same N in each pair."
    )
    var targets: [String] = []
    @Option(help: "The tensor holding the targets in .safetensors shards (default: the file's only tensor).")
    var targetsKey: String?

    func validate(requireTargets: Bool) throws {
        try probabilities.requireProbabilities()
        if requireTargets && targets.isEmpty {
            throw ValidationError("--targets: expected targets (a file, directory or pattern)")
        }
    }

    /// The shards, resolved and checked.
    func shards() throws -> ShardedInputs {
        try ShardedInputs(
            probabilities: probabilities.probs, targets: targets, probabilitiesKey: probabilities.probsKey,
            targetsKey: targetsKey)
    }
}
