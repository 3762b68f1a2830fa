import ArgumentParser
import Foundation
import KandinskyCore
import KandinskyData
import KandinskyPlots

struct CheckDataCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-data",
        abstract:
            "Check a COCO-format dataset: counts, class pixel shares, that every image decodes, and a contact sheet.",
        discussion:
            "Without --split, checks ROOT/labels.json; with --split t1000, checks ROOT/splits/t1000/labels_{train,val,cal}.json."
    )

    @Option(help: "Dataset root (labels.json, data/).") var root: String
    @Option(help: "A split directory under ROOT/splits/, e.g. t1000.") var split: String?
    @Option(help: "Categories by name or id, comma-separated.") var category = "person"
    @Option(help: "Sample size WxH for the contact sheet.") var dims = "320x240"
    @Option(help: "Contact sheet PNG (default ROOT/check-data.png, or ROOT/splits/<split>/check-data.png).") var sheet:
        String?
    @Option(help: "Images on the contact sheet.") var sheetCount = 16

    func validate() throws {
        guard parseDims(dims) != nil else {
            throw ValidationError("--dims must be \(dimsExpectation), got \"\(dims)\"")
        }
        guard sheetCount > 0 else { throw ValidationError("--sheet-count must be positive") }
    }

    func run() throws {
        let size = parseDims(dims)!
        let rootURL = URL(fileURLWithPath: root)
        let manifests: [(String, URL)]
        let sheetDefault: URL
        if let split {
            let directory = rootURL.appendingPathComponent("splits").appendingPathComponent(split)
            manifests = ["train", "val", "cal"].map { ($0, directory.appendingPathComponent("labels_\($0).json")) }
            sheetDefault = directory.appendingPathComponent("check-data.png")
        } else {
            manifests = [("all", rootURL.appendingPathComponent("labels.json"))]
            sheetDefault = rootURL.appendingPathComponent("check-data.png")
        }
        var failures: [DataError] = []
        var imageCount = 0
        var sheetTiles: [RGBImage] = []
        var seenIDs: [String: Set<Int>] = [:]
        for (name, url) in manifests {
            let manifest = try COCOManifest.read(contentsOf: url)
            let dataset = try COCODataset(
                root: rootURL, manifest: manifest, manifestFile: url.path,
                categories: CategorySelection(parsing: category),
                dims: ResizeAndPad(width: size.width, height: size.height))
            seenIDs[name] = Set(manifest.images.map(\.id))
            imageCount += dataset.count
            if let warning = dataset.emptySegmentationWarning { printWarning(warning) }
            // Per image: class pixel counts at native resolution, or the error.
            var results = [Result<[Int], DataError>?](repeating: nil, count: dataset.count)
            results.withUnsafeMutableBufferPointer { results in
                parallelFor(0..<dataset.count, chunkCount: min(dataset.count, 16 * availableCoreCount)) { range in
                    for index in range {
                        results[index] = Result { () throws(DataError) -> [Int] in
                            _ = try dataset.rawImage(index)
                            let target = try dataset.rawTarget(index)
                            let plane = target.shape[1] * target.shape[2]
                            return target.withUnsafeBufferPointer { t in
                                (0..<target.shape[0]).map { c in (0..<plane).reduce(0) { $0 + Int(t[c * plane + $1]) } }
                            }
                        }
                    }
                }
            }
            var totals = [Int](repeating: 0, count: dataset.channelCount)
            var pixels = 0
            for (index, result) in results.enumerated() {
                switch result! {
                case .success(let counts):
                    for c in counts.indices { totals[c] += counts[c] }
                    pixels += dataset.images[index].width * dataset.images[index].height
                case .failure(let error): failures.append(error)
                }
            }
            let names = ["background"] + dataset.categories.map(\.name)
            let shares = names.indices.map {
                String(format: "%@ %.2f%%", names[$0], pixels > 0 ? 100 * Double(totals[$0]) / Double(pixels) : 0)
            }
            let decoded = results.filter { if case .success = $0! { true } else { false } }.count
            let empty = dataset.emptySegmentationAnnotationIDs.count
            print(
                "\(name): \(manifest.images.count) images, \(manifest.annotations.count) annotations (\(empty) with an empty segmentation, skipped); \(decoded)/\(dataset.count) images decode; pixel shares: \(shares.joined(separator: ", "))"
            )
            for index in 0..<dataset.count where sheetTiles.count < sheetCount {
                if case .success = results[index]!, let sample = try? dataset.sample(index) {
                    sheetTiles.append(Overlay.blend(image: sample.image, target: sample.target))
                }
            }
        }
        if manifests.count == 3 {
            let sets = manifests.map { seenIDs[$0.0]! }
            let overlap =
                sets[0].intersection(sets[1]).count + sets[0].intersection(sets[2]).count
                + sets[1].intersection(sets[2]).count
            print(overlap == 0 ? "splits are disjoint" : "splits overlap in \(overlap) images")
        }
        if !sheetTiles.isEmpty {
            let sheetURL = sheet.map { URL(fileURLWithPath: $0) } ?? sheetDefault
            try PNGImage.write(Overlay.contactSheet(sheetTiles, columns: 4), to: sheetURL)
            print("contact sheet: \(sheetURL.path) (\(sheetTiles.count) images with mask overlays)")
        }
        if let first = failures.first {
            for error in failures.prefix(20) { print("  \(error)") }
            // One line on stderr (exit status 1): the first failure, and how many there are.
            throw DataError(
                first.kind, file: first.file, location: first.location,
                problem: "\(first.problem) (\(failures.count) of \(imageCount) images failed to load)")
        }
    }
}
