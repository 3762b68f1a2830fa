import KandinskyCore

extension COCOManifest {
    /// A train / validation / calibration split of a manifest.
    package struct Split: Sendable {
        /// The training images.
        package var train: COCOManifest
        /// The validation images.
        package var validation: COCOManifest
        /// Every other image.
        package var calibration: COCOManifest
    }

    /// Draws `trainCount` training and `validationCount` validation images uniformly at random
    /// without replacement (a seeded Fisher–Yates shuffle of the image list) and puts the rest in
    /// calibration. Each part keeps its images in manifest order, only their annotations, and all
    /// categories and other fields unchanged; the three image sets are disjoint and cover the
    /// manifest.
    /// - Complexity: O(images + annotations).
    package func split(trainCount: Int, validationCount: Int, using generator: inout some RandomNumberGenerator)
        throws(DataError) -> Split
    {
        guard trainCount >= 0, validationCount >= 0, trainCount + validationCount <= images.count else {
            throw DataError(
                .invalidRequest, file: "manifest", location: "images",
                problem: "cannot draw \(trainCount) train and \(validationCount) validation images from \(images.count)"
            )
        }
        let order = seededPermutation(count: images.count, using: &generator)
        var part = [Int](repeating: 2, count: images.count)
        for position in 0..<(trainCount + validationCount) {
            part[order[position]] = position < trainCount ? 0 : 1
        }
        var imageParts: [Int: Int] = [:]
        var selected: [[Image]] = [[], [], []]
        for (index, image) in images.enumerated() {
            imageParts[image.id] = part[index]
            selected[part[index]].append(image)
        }
        var selectedAnnotations: [[Annotation]] = [[], [], []]
        for annotation in annotations {
            if let p = imageParts[annotation.imageID] { selectedAnnotations[p].append(annotation) }
        }
        let manifests = (0..<3).map {
            COCOManifest(
                images: selected[$0], annotations: selectedAnnotations[$0], categories: categories, extra: extra)
        }
        return Split(train: manifests[0], validation: manifests[1], calibration: manifests[2])
    }

    /// A manifest with only the images whose ids are in `ids` (in manifest order) and their annotations.
    func subset(imageIDs ids: Set<Int>) -> COCOManifest {
        COCOManifest(
            images: images.filter { ids.contains($0.id) }, annotations: annotations.filter { ids.contains($0.imageID) },
            categories: categories, extra: extra)
    }
}
