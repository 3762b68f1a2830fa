import Foundation
import Yams

/// Composes a configuration the way Hydra does for the original project, from a directory of
/// YAML files laid out as `configs/<primary>.yaml` and `configs/<group>/<option>.yaml`.
///
/// Composition:
/// 1. The primary file's `defaults:` list names config groups and their options in order
///    (`- data: synthetic`, `- experiment: null`, `- _self_`); `- optional g: o` is skipped
///    when the file is missing.
/// 2. Command-line group choices (`data=coco`, `experiment=NAME`) replace the defaults. An
///    experiment file may itself say `- override /data: coco`; command-line choices win.
/// 3. Files are merged in list order: a group file lands under its group's key (`model.…`),
///    or at the root when it starts with `# @package _global_` (experiments do). A group file
///    may have its own defaults (`model/segmentation.yaml` pulls `scheduler: cosine` into
///    `model.scheduler`).
/// 4. Dotted overrides (`data.batch_size=8`) replace existing keys; `+key=value` adds one. An
///    unknown key is an error that suggests the closest known key.
/// 5. Interpolations resolve last: `${a.b}` (the node at that absolute key path),
///    `${oc.env:VAR}` and `${oc.env:VAR,default}`. A value `???` is required: reading it, or
///    ``Config/requireComplete()``, throws.
/// 6. Every key of the configuration schema (`kandinsky help-config`) present in the result is
///    checked against its type and range, and the keys that must agree with each other are
///    compared, so a bad value stops the command before any work starts or any file is written.
///
/// Each file and override is held to ``ConfigLimits`` (nesting depth, expanded size) before it
/// is parsed. The composed ``Config`` remembers which file or override set each key, so errors
/// can name it.
public struct ConfigComposer: Sendable {
    /// The directory holding the primary files and group folders.
    public let directory: URL
    /// Whether `directory` holds the configs that ship with Kandinsky (named as such in errors).
    private let isBuiltIn: Bool

    /// A composer over a user's config directory.
    public init(directory: URL) {
        self.init(directory: directory, isBuiltIn: false)
    }

    private init(directory: URL, isBuiltIn: Bool) {
        self.directory = directory
        self.isBuiltIn = isBuiltIn
    }

    /// The composer over the configs that ship inside Kandinsky.
    public static var builtIn: ConfigComposer {
        ConfigComposer(directory: Bundle.module.url(forResource: "configs", withExtension: nil)!, isBuiltIn: true)
    }

    /// How errors name a file of the directory.
    func sourceName(_ relativePath: String) -> String {
        isBuiltIn ? "built-in config \(relativePath)" : directory.appendingPathComponent(relativePath).path
    }

    /// How errors name a command-line override.
    static func sourceName(override text: String) -> String {
        "override '\(ConfigLimits.abbreviated(text))'"
    }

    /// Composes `<primary>.yaml` with command-line arguments of the form `key=value`.
    public func compose(
        primary: String, overrides arguments: [String],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ConfigError) -> Config {
        let groups = groupNames()
        var choiceOverrides: [(group: String, option: String?)] = []
        var valueOverrides: [(path: [String], value: ConfigNode, adding: Bool, text: String)] = []
        for argument in arguments {
            guard let equals = argument.firstIndex(of: "=") else { throw .badOverride(argument) }
            var key = String(argument[..<equals])
            let valueText = String(argument[argument.index(after: equals)...])
            let adding = key.hasPrefix("+")
            if adding { key.removeFirst() }
            let path = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            guard !path.contains("") else { throw .emptyOverrideKey(argument) }
            if groups.contains(key) {
                choiceOverrides.append((key, valueText == "null" ? nil : valueText))
            } else {
                let value = try ConfigNode.parse(
                    yaml: valueText.isEmpty ? "''" : valueText, file: Self.sourceName(override: argument))
                valueOverrides.append((path, value, adding, argument))
            }
        }

        let (primaryContent, primaryDefaults, _) = try load(relativePath: "\(primary).yaml")
        var entries = try parseDefaults(primaryDefaults, file: "\(primary).yaml")
        func choose(_ group: String, _ option: String?) {
            if let index = entries.firstIndex(where: { $0.group == group }) {
                entries[index].option = option
            } else {
                entries.append(DefaultsEntry(group: group, option: option, optional: false))
            }
        }
        for (group, option) in choiceOverrides { choose(group, option) }
        // An experiment may override other groups' choices; the command line still wins.
        if let experiment = entries.first(where: { $0.group == "experiment" })?.option {
            let (_, experimentDefaults, _) = try load(relativePath: "experiment/\(Self.stripYAML(experiment)).yaml")
            for entry in try parseDefaults(experimentDefaults, file: "experiment/\(experiment).yaml")
            where entry.group != nil {
                let group = entry.group!.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
                if !choiceOverrides.contains(where: { $0.group == group }) { choose(group, entry.option) }
            }
        }

        var root = ConfigNode.map([])
        var sources = ConfigSources()
        for entry in entries {
            guard let group = entry.group else {
                root = root.merged(with: primaryContent)
                sources.record(primaryContent, at: [], source: sourceName("\(primary).yaml"))
                continue
            }
            guard let option = entry.option else { continue }
            root = try merge(group: group, option: option, optional: entry.optional, into: root, sources: &sources)
        }
        if !entries.contains(where: { $0.group == nil }) {
            root = root.merged(with: primaryContent)
            sources.record(primaryContent, at: [], source: sourceName("\(primary).yaml"))
        }

        for override in valueOverrides {
            guard root.set(override.value, at: override.path[...], create: override.adding) else {
                let key = override.path.joined(separator: ".")
                throw .unknownKey(key, suggestion: Self.closest(to: key, among: root.allKeyPaths))
            }
            sources.record(override.value, at: override.path, source: Self.sourceName(override: override.text))
        }
        let experimentName = entries.first(where: { $0.group == "experiment" })?.option
        _ = root.set(
            experimentName.map { .scalar(Self.stripYAML($0), quoted: true) } ?? .null, at: ["experiment_name"],
            create: true)
        sources.recordReferences(in: root)
        var interpolation = Interpolation(root: root, environment: environment)
        let config = Config(root: try interpolation.resolve(), sources: sources)
        try ConfigSchema.validate(config)
        return config
    }

    // MARK: Files

    struct DefaultsEntry {
        var group: String?  // nil for _self_
        var option: String?
        var optional: Bool
    }

    func groupNames() -> Set<String> {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return Set(
            names.filter { name in
                var isDirectory: ObjCBool = false
                return FileManager.default.fileExists(
                    atPath: directory.appendingPathComponent(name).path, isDirectory: &isDirectory)
                    && isDirectory.boolValue
            })
    }

    /// Loads a file: its content without `defaults`, the defaults list, and whether it is global.
    func load(relativePath: String) throws(ConfigError) -> (ConfigNode, ConfigNode?, Bool) {
        let url = directory.appendingPathComponent(relativePath)
        if let data = FileManager.default.contents(atPath: url.path), String(data: data, encoding: .utf8) == nil {
            throw .malformedFile(sourceName(relativePath), "not UTF-8 text")
        }
        guard let text = try? String(contentsOf: url, encoding: .utf8) else {
            let parts = relativePath.split(separator: "/")
            throw .missingFile(
                group: parts.dropLast().joined(separator: "/"),
                option: String(parts.last ?? "").replacingOccurrences(of: ".yaml", with: ""),
                searched: url.path)
        }
        let isGlobal =
            text.split(separator: "\n", omittingEmptySubsequences: true).first?.contains("@package _global_") == true
        var node = try ConfigNode.parse(yaml: text, file: sourceName(relativePath))
        var defaults: ConfigNode?
        if case .map(var entries) = node, let index = entries.firstIndex(where: { $0.key == "defaults" }) {
            defaults = entries[index].value
            entries.remove(at: index)
            node = .map(entries)
        }
        return (node, defaults, isGlobal)
    }

    func parseDefaults(_ node: ConfigNode?, file: String) throws(ConfigError) -> [DefaultsEntry] {
        guard let node else { return [] }
        guard case .list(let items) = node else { throw .malformedFile(file, "'defaults' must be a list") }
        var entries: [DefaultsEntry] = []
        for item in items {
            switch item {
            case .scalar("_self_", _):
                entries.append(DefaultsEntry(group: nil, option: nil, optional: false))
            case .map(let pairs) where pairs.count == 1:
                var key = pairs[0].key
                var optional = false
                if key.hasPrefix("optional ") {
                    optional = true
                    key.removeFirst("optional ".count)
                }
                if key.hasPrefix("override ") { key.removeFirst("override ".count) }
                let option: String? =
                    switch pairs[0].value {
                    case .scalar(let text, _): Self.stripYAML(text)
                    default: nil
                    }
                entries.append(DefaultsEntry(group: key, option: option, optional: optional))
            default:
                throw .malformedFile(file, "cannot read defaults entry \(item.yaml())")
            }
        }
        return entries
    }

    func merge(group: String, option: String, optional: Bool, into root: ConfigNode, sources: inout ConfigSources)
        throws(ConfigError) -> ConfigNode
    {
        let relativePath = "\(group)/\(Self.stripYAML(option)).yaml"
        if optional, !FileManager.default.fileExists(atPath: directory.appendingPathComponent(relativePath).path) {
            return root
        }
        let (content, defaults, isGlobal) = try load(relativePath: relativePath)
        let packagePath = isGlobal ? [] : group.split(separator: "/").map(String.init)
        var root = root
        let nested = try parseDefaults(defaults, file: relativePath)
        var selfMerged = false
        for entry in nested {
            if let subgroup = entry.group, subgroup.hasPrefix("/") {
                continue  // `override /group: option` was applied when the choices were made
            } else if let subgroup = entry.group, let suboption = entry.option {
                root = try merge(
                    group: "\(group)/\(subgroup)", option: suboption, optional: entry.optional, into: root,
                    sources: &sources)
            } else if entry.group == nil {
                root = Self.merge(content, into: root, at: packagePath)
                sources.record(content, at: packagePath, source: sourceName(relativePath))
                selfMerged = true
            }
        }
        if !selfMerged {
            root = Self.merge(content, into: root, at: packagePath)
            sources.record(content, at: packagePath, source: sourceName(relativePath))
        }
        return root
    }

    static func merge(_ content: ConfigNode, into root: ConfigNode, at path: [String]) -> ConfigNode {
        guard !path.isEmpty else { return root.merged(with: content) }
        var root = root
        let existing = root.node(at: path[...]) ?? .map([])
        _ = root.set(existing.merged(with: content), at: path[...], create: true)
        return root
    }

    static func stripYAML(_ option: String) -> String {
        option.hasSuffix(".yaml") ? String(option.dropLast(5)) : option
    }

    /// The known key closest to `key` by edit distance, if reasonably close (at most a third of
    /// its length, and at least 3, edits away). Candidates whose length alone puts them farther
    /// are skipped, which keeps the suggestion cheap for long or many keys.
    static func closest(to key: String, among candidates: [String]) -> String? {
        let limit = max(3, key.count / 3)
        let target = Array(key.utf8)
        var best: (key: String, distance: Int)?
        for candidate in candidates
        where abs(candidate.utf8.count - target.count) <= min(limit, best?.distance ?? limit) {
            let distance = editDistance(target, Array(candidate.utf8))
            if distance <= limit, distance < best?.distance ?? .max { best = (candidate, distance) }
        }
        return best?.key
    }

    static func editDistance(_ a: String, _ b: String) -> Int {
        editDistance(Array(a.utf8), Array(b.utf8))
    }

    /// Levenshtein distance over bytes. - Complexity: O(|a|·|b|) time, O(|b|) space.
    static func editDistance(_ a: [UInt8], _ b: [UInt8]) -> Int {
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
