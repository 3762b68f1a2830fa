import KandinskyCore

/// Writes manifests as compact JSON with sorted keys, much faster than `JSONEncoder` on large
/// manifests, on the package's ``JSONWriter``. Numbers use Swift's shortest round-trip form, so
/// reading the output back gives the same manifest; the same manifest always gives the same bytes.
enum FastManifestWriter {
    static func encode(_ manifest: COCOManifest) -> [UInt8] {
        var writer = JSONWriter(
            controlEscapes: .unicode,
            capacity: manifest.annotations.count * 256 + manifest.images.count * 128 + 1024)
        var members = extraMembers(manifest.extra)
        members.append(("images", { writer in writer.writeList(manifest.images) { $0.write($1) } }))
        members.append(("annotations", { writer in writer.writeList(manifest.annotations) { $0.write($1) } }))
        members.append(("categories", { writer in writer.writeList(manifest.categories) { $0.write($1) } }))
        writer.writeObject(sortingKeys: true, members)
        return writer.bytes
    }

    /// The members of `extra`, each written as read.
    static func extraMembers(_ extra: [String: JSONValue]) -> [(String, (inout JSONWriter) -> Void)] {
        extra.map { key, value in (key, { $0.write(value) }) }
    }
}

extension JSONWriter {
    /// `[element,…]`, written here so that it is specialised for each element type.
    fileprivate mutating func writeList<T>(_ elements: [T], _ element: (inout JSONWriter, T) -> Void) {
        writeArray(count: elements.count) { writer, index in element(&writer, elements[index]) }
    }

    fileprivate mutating func write(_ image: COCOManifest.Image) {
        writeObject(
            sortingKeys: true,
            FastManifestWriter.extraMembers(image.extra) + [
                ("id", { $0.write(image.id) }), ("file_name", { $0.write(image.fileName) }),
                ("width", { $0.write(image.width) }), ("height", { $0.write(image.height) }),
            ])
    }

    fileprivate mutating func write(_ category: COCOManifest.Category) {
        writeObject(
            sortingKeys: true,
            FastManifestWriter.extraMembers(category.extra) + [
                ("id", { $0.write(category.id) }), ("name", { $0.write(category.name) }),
            ])
    }

    fileprivate mutating func write(_ annotation: COCOManifest.Annotation) {
        var members: [(String, (inout JSONWriter) -> Void)] = [
            ("id", { $0.write(annotation.id) }), ("image_id", { $0.write(annotation.imageID) }),
            ("category_id", { $0.write(annotation.categoryID) }), ("iscrowd", { $0.write(annotation.isCrowd) }),
            ("segmentation", { $0.write(annotation.segmentation) }),
        ]
        if let area = annotation.area { members.append(("area", { $0.writeCoordinate(area) })) }
        if let bbox = annotation.bbox { members.append(("bbox", { $0.writeList(bbox) { $0.writeCoordinate($1) } })) }
        writeObject(sortingKeys: true, members)
    }

    fileprivate mutating func write(_ segmentation: COCOManifest.Segmentation) {
        switch segmentation {
        case .polygons(let polygons):
            writeList(polygons) { writer, polygon in writer.writeList(polygon) { $0.writeCoordinate($1) } }
        case .rle(let stored):
            writeObject(
                sortingKeys: true,
                [
                    ("size", { $0.writeList(stored.size) { $0.write($1) } }),
                    (
                        "counts",
                        { writer in
                            switch stored.counts {
                            case .compressed(let string): writer.write(string)
                            case .uncompressed(let counts): writer.writeList(counts) { $0.write($1) }
                            }
                        }
                    ),
                ])
        }
    }

    /// A coordinate, area or box value: integral values below 10^15 as integers (`3`, not
    /// `3.0`, as COCO's own files have them). A kept field (``JSONValue/number(_:)``) keeps its
    /// kind instead: `300.0` and `-0.0` stay numbers with a fraction, as Python reads them back.
    fileprivate mutating func writeCoordinate(_ number: Double) {
        precondition(number.isFinite, "JSON has no representation for \(number)")
        if number == number.rounded(), abs(number) < 1e15 {
            write(Int(number))
        } else {
            write(number)
        }
    }
}
