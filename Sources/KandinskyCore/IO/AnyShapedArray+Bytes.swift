extension AnyShapedArray {
    /// Creates an owned array of `elementType` and `shape` whose little-endian bytes are written
    /// by `fill` (which receives exactly `count × byteSize` uninitialised bytes). Boolean bytes
    /// must be 0 or 1; `fill` is expected to have checked that.
    static func make(
        _ elementType: ElementType, shape: [Int],
        fill: (UnsafeMutableRawBufferPointer) throws(FileFormatError) -> Void
    ) throws(FileFormatError) -> AnyShapedArray {
        func build<T: BitwiseCopyable>(_: T.Type) throws(FileFormatError) -> ShapedArray<T> {
            var failure: FileFormatError?
            let array = ShapedArray<T>(shape: shape) { buffer in
                do throws(FileFormatError) { try fill(UnsafeMutableRawBufferPointer(buffer)) } catch { failure = error }
            }
            if let failure { throw failure }
            return array
        }
        switch elementType {
        case .float32: return .float32(try build(Float.self))
        case .float16: return .float16(try build(Float16.self))
        case .float64: return .float64(try build(Double.self))
        case .uint8: return .uint8(try build(UInt8.self))
        case .bool: return .bool(try build(Bool.self))
        case .int32: return .int32(try build(Int32.self))
        case .int64: return .int64(try build(Int64.self))
        }
    }

    /// An array that reads its elements in place at `base` (aligned for `elementType`), kept
    /// valid by `owner`.
    static func borrowing(_ elementType: ElementType, shape: [Int], base: UnsafeMutableRawPointer, owner: AnyObject)
        -> AnyShapedArray
    {
        func view<T: BitwiseCopyable>(_: T.Type) -> ShapedArray<T> {
            let count = ShapedArray<T>.elementCount(of: shape)
            return ShapedArray<T>(shape: shape, borrowing: base.bindMemory(to: T.self, capacity: count), owner: owner)
        }
        switch elementType {
        case .float32: return .float32(view(Float.self))
        case .float16: return .float16(view(Float16.self))
        case .float64: return .float64(view(Double.self))
        case .uint8: return .uint8(view(UInt8.self))
        case .bool: return .bool(view(Bool.self))
        case .int32: return .int32(view(Int32.self))
        case .int64: return .int64(view(Int64.self))
        }
    }
}

extension ElementType {
    /// The alignment, in bytes, that borrowed elements of this type need.
    var alignment: Int { byteSize }

    /// The rank safetensors' reference writer uses to order tensors in the data section
    /// (larger first), from its dtype enumeration order: I64, F64, F32, I32, F16, U8, BOOL.
    var safetensorsLayoutRank: Int {
        switch self {
        case .int64: 6
        case .float64: 5
        case .float32: 4
        case .int32: 3
        case .float16: 2
        case .uint8: 1
        case .bool: 0
        }
    }
}

/// The byte count of `count` elements of `size` bytes, or nil when it overflows.
func checkedByteCount(shape: [Int], elementSize: Int) -> Int? {
    var total = elementSize
    for extent in shape {
        let (product, overflow) = total.multipliedReportingOverflow(by: extent)
        if overflow || extent < 0 { return nil }
        total = product
    }
    return total
}
