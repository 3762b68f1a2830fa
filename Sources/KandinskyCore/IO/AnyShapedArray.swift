/// The element types Kandinsky reads and writes in `.npy` and safetensors files, named as
/// safetensors names them.
public enum ElementType: String, Sendable, CaseIterable, Codable {
    /// 32-bit IEEE float (numpy `<f4`).
    case float32 = "F32"
    /// 16-bit IEEE half (numpy `<f2`).
    case float16 = "F16"
    /// 64-bit IEEE double (numpy `<f8`).
    case float64 = "F64"
    /// Unsigned byte (numpy `|u1`).
    case uint8 = "U8"
    /// Boolean, one byte each (numpy `|b1`).
    case bool = "BOOL"
    /// 32-bit signed integer (numpy `<i4`).
    case int32 = "I32"
    /// 64-bit signed integer (numpy `<i8`).
    case int64 = "I64"

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .float32, .int32: 4
        case .float16: 2
        case .float64, .int64: 8
        case .uint8, .bool: 1
        }
    }
}

/// An array of any of the ``ElementType``s, as read from a file whose element type is known
/// only at run time.
public enum AnyShapedArray: Sendable {
    /// F32 values.
    case float32(Tensor)
    /// F16 values.
    case float16(HalfTensor)
    /// F64 values.
    case float64(ShapedArray<Double>)
    /// U8 values (targets, prediction sets).
    case uint8(ShapedArray<UInt8>)
    /// BOOL values.
    case bool(ShapedArray<Bool>)
    /// I32 values (group labels).
    case int32(ShapedArray<Int32>)
    /// I64 values (PyTorch's default integer type).
    case int64(ShapedArray<Int64>)

    /// The element type.
    public var elementType: ElementType {
        switch self {
        case .float32: .float32
        case .float16: .float16
        case .float64: .float64
        case .uint8: .uint8
        case .bool: .bool
        case .int32: .int32
        case .int64: .int64
        }
    }

    /// The shape.
    public var shape: [Int] {
        switch self {
        case .float32(let a): a.shape
        case .float16(let a): a.shape
        case .float64(let a): a.shape
        case .uint8(let a): a.shape
        case .bool(let a): a.shape
        case .int32(let a): a.shape
        case .int64(let a): a.shape
        }
    }

    /// The values converted to Float32 (booleans as 0 and 1; large integers and doubles round).
    public func toTensor() -> Tensor {
        switch self {
        case .float32(let a): a
        case .float16(let a): a.map { Float($0) }
        case .float64(let a): a.map { Float($0) }
        case .uint8(let a): a.map { Float($0) }
        case .bool(let a): a.map { $0 ? 1 : 0 }
        case .int32(let a): a.map { Float($0) }
        case .int64(let a): a.map { Float($0) }
        }
    }

    /// Calls `body` with the raw little-endian bytes of the elements.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        switch self {
        case .float32(let a): try a.withUnsafeBytes(body)
        case .float16(let a): try a.withUnsafeBytes(body)
        case .float64(let a): try a.withUnsafeBytes(body)
        case .uint8(let a): try a.withUnsafeBytes(body)
        case .bool(let a): try a.withUnsafeBytes(body)
        case .int32(let a): try a.withUnsafeBytes(body)
        case .int64(let a): try a.withUnsafeBytes(body)
        }
    }
}
