/// Writes manifests as compact JSON with sorted keys, much faster than `JSONEncoder` on large
/// manifests. Numbers use Swift's shortest round-trip form, so reading the output back gives
/// the same manifest; the same manifest always gives the same bytes.
struct FastManifestWriter {
    private(set) var bytes: [UInt8] = []

    static func encode(_ manifest: COCOManifest) -> [UInt8] {
        var writer = FastManifestWriter()
        writer.bytes.reserveCapacity(manifest.annotations.count * 256 + manifest.images.count * 128 + 1024)
        var members: [(String, (inout FastManifestWriter) -> Void)] = manifest.extra.map { key, value in (key, { $0.write(value) }) }
        members.append(("images", { writer in writer.writeArray(manifest.images) { $0.write($1) } }))
        members.append(("annotations", { writer in writer.writeArray(manifest.annotations) { $0.write($1) } }))
        members.append(("categories", { writer in writer.writeArray(manifest.categories) { $0.write($1) } }))
        writer.writeObject(members)
        return writer.bytes
    }

    private mutating func writeObject(_ members: [(String, (inout FastManifestWriter) -> Void)]) {
        bytes.append(UInt8(ascii: "{"))
        for (index, member) in members.sorted(by: { $0.0 < $1.0 }).enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            write(member.0)
            bytes.append(UInt8(ascii: ":"))
            member.1(&self)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    private mutating func writeArray<T>(_ elements: [T], _ element: (inout FastManifestWriter, T) -> Void) {
        bytes.append(UInt8(ascii: "["))
        for (index, value) in elements.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            element(&self, value)
        }
        bytes.append(UInt8(ascii: "]"))
    }

    private mutating func write(_ image: COCOManifest.Image) {
        var members: [(String, (inout FastManifestWriter) -> Void)] = image.extra.map { key, value in (key, { $0.write(value) }) }
        members += [("id", { $0.write(image.id) }), ("file_name", { $0.write(image.fileName) }),
                    ("width", { $0.write(image.width) }), ("height", { $0.write(image.height) })]
        writeObject(members)
    }

    private mutating func write(_ category: COCOManifest.Category) {
        var members: [(String, (inout FastManifestWriter) -> Void)] = category.extra.map { key, value in (key, { $0.write(value) }) }
        members += [("id", { $0.write(category.id) }), ("name", { $0.write(category.name) })]
        writeObject(members)
    }

    private mutating func write(_ annotation: COCOManifest.Annotation) {
        var members: [(String, (inout FastManifestWriter) -> Void)] = [
            ("id", { $0.write(annotation.id) }), ("image_id", { $0.write(annotation.imageID) }),
            ("category_id", { $0.write(annotation.categoryID) }), ("iscrowd", { $0.write(annotation.isCrowd) }),
            ("segmentation", { writer in
                switch annotation.segmentation {
                case .polygons(let polygons):
                    writer.writeArray(polygons) { writer, polygon in writer.writeArray(polygon) { $0.write($1) } }
                case .rle(let stored):
                    writer.writeObject([
                        ("size", { $0.writeArray(stored.size) { $0.write($1) } }),
                        ("counts", { writer in
                            switch stored.counts {
                            case .compressed(let string): writer.write(string)
                            case .uncompressed(let counts): writer.writeArray(counts) { $0.write($1) }
                            }
                        }),
                    ])
                }
            }),
        ]
        if let area = annotation.area { members.append(("area", { $0.write(area) })) }
        if let bbox = annotation.bbox { members.append(("bbox", { $0.writeArray(bbox) { $0.write($1) } })) }
        writeObject(members)
    }

    private mutating func write(_ value: JSONValue) {
        switch value {
        case .null: bytes.append(contentsOf: "null".utf8)
        case .bool(let flag): bytes.append(contentsOf: (flag ? "true" : "false").utf8)
        case .integer(let integer): write(integer)
        case .number(let number):
            // A kept field keeps its kind: `300.0` and `-0.0` stay numbers with a fraction (Python
            // reads them back as floats), unlike the integral coordinates of the fields Kandinsky knows.
            precondition(number.isFinite, "JSON has no representation for \(number)")
            bytes.append(contentsOf: number.description.utf8)
        case .string(let string): write(string)
        case .array(let values): writeArray(values) { $0.write($1) }
        case .object(let members): writeObject(members.map { key, value in (key, { $0.write(value) }) })
        }
    }

    private mutating func write(_ integer: Int) {
        bytes.append(contentsOf: String(integer).utf8)
    }

    private mutating func write(_ number: Double) {
        precondition(number.isFinite, "JSON has no representation for \(number)")
        if number == number.rounded(), abs(number) < 1e15 {
            bytes.append(contentsOf: String(Int(number)).utf8)
        } else {
            bytes.append(contentsOf: number.description.utf8)
        }
    }

    private mutating func write(_ string: String) {
        bytes.append(UInt8(ascii: "\""))
        for byte in string.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: #"\""#.utf8)
            case UInt8(ascii: "\\"): bytes.append(contentsOf: #"\\"#.utf8)
            case 0x0A: bytes.append(contentsOf: #"\n"#.utf8)
            case 0x0D: bytes.append(contentsOf: #"\r"#.utf8)
            case 0x09: bytes.append(contentsOf: #"\t"#.utf8)
            case ..<0x20:
                let hex = Array("0123456789abcdef".utf8)
                bytes.append(contentsOf: #"\u00"#.utf8)
                bytes.append(hex[Int(byte >> 4)])
                bytes.append(hex[Int(byte & 0xF)])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
