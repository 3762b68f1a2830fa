/// A dense, row-major, contiguous n-dimensional array with value semantics.
///
/// `ShapedArray` is the storage type shared by every module: ``Tensor`` (`Float`) carries the
/// arithmetic, ``HalfTensor`` (`Float16`) stores large score arrays in two bytes per value, and
/// the integer forms hold masks and labels read from `.npy` or safetensors files.
///
/// Layout: the element at index `(i₀, …, iₖ)` lives at offset `Σ iⱼ · strideⱼ` with
/// `strideₖ = 1` and `strideⱼ = strideⱼ₊₁ · shapeⱼ₊₁` (C order). A rank-0 array (shape `[]`)
/// holds one scalar.
///
/// Copies share storage until one of them is mutated (copy-on-write), so passing arrays by
/// value costs nothing. Storage may also be a window into a memory-mapped file; it is copied
/// into owned memory the first time it is written.
public struct ShapedArray<Scalar: BitwiseCopyable>: @unchecked Sendable {
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    @usableFromInline var storage: ArrayStorage<Scalar>

    /// Creates an array over existing storage. `storage.count` must equal the product of `shape`.
    @inlinable
    init(shape: [Int], storage: ArrayStorage<Scalar>) {
        precondition(
            storage.count == Self.elementCount(of: shape),
            "storage of \(storage.count) elements cannot have shape \(shape)")
        self.shape = shape
        self.storage = storage
        #if KANDINSKY_INTERNAL_CHECKS
            _checkInvariants()
        #endif
    }

    /// Checks what every operation must keep (built with `KANDINSKY_INTERNAL_CHECKS`, see
    /// Package.swift): the shape has no negative extent, the storage holds exactly its element
    /// count and starts on a 64-byte boundary unless it is borrowed.
    ///
    /// - Complexity: O(rank).
    @inlinable
    func _checkInvariants() {
        precondition(shape.allSatisfy { $0 >= 0 }, "shape \(shape) has a negative extent")
        precondition(
            storage.count == shape.reduce(1, *),
            "storage of \(storage.count) elements cannot have shape \(shape)")
        precondition(
            storage.isBorrowed || Int(bitPattern: storage.base) % 64 == 0,
            "owned storage of shape \(shape) is not aligned to a cache line")
    }

    /// Creates an array of the given shape with every element equal to `value`.
    ///
    /// - Precondition: every extent is non-negative.
    @inlinable
    public init(shape: [Int], repeating value: Scalar) {
        let count = Self.elementCount(of: shape)
        let storage = ArrayStorage<Scalar>(uninitializedCount: count)
        storage.base.initialize(repeating: value, count: count)
        self.init(shape: shape, storage: storage)
    }

    /// Creates an array of the given shape from row-major scalars.
    ///
    /// - Precondition: `scalars.count` equals the product of `shape`.
    @inlinable
    public init<C: Collection>(shape: [Int], scalars: C) where C.Element == Scalar {
        let count = Self.elementCount(of: shape)
        precondition(
            scalars.count == count,
            "\(scalars.count) scalars cannot fill shape \(shape) (\(count) elements)")
        let storage = ArrayStorage<Scalar>(uninitializedCount: count)
        _ = UnsafeMutableBufferPointer(start: storage.base, count: count).initialize(from: scalars)
        self.init(shape: shape, storage: storage)
    }

    /// Creates an array of the given shape whose elements are written by `initializer`, which
    /// receives an uninitialised buffer of `shape.product` elements and must write all of them.
    @inlinable
    public init(
        shape: [Int], unsafeUninitializedCapacity initializer: (UnsafeMutableBufferPointer<Scalar>) throws -> Void
    ) rethrows {
        let count = Self.elementCount(of: shape)
        let storage = ArrayStorage<Scalar>(uninitializedCount: count)
        try initializer(UnsafeMutableBufferPointer(start: storage.base, count: count))
        self.init(shape: shape, storage: storage)
    }

    /// Creates an array that reads `count` elements at `base` without copying them; `owner` is
    /// kept alive as long as any array refers to the memory (for example a memory map).
    ///
    /// The memory must stay valid and unchanged while `owner` lives. Writing to the array copies
    /// it first.
    package init(shape: [Int], borrowing base: UnsafeMutablePointer<Scalar>, owner: AnyObject) {
        self.init(
            shape: shape,
            storage: ArrayStorage(
                borrowing: base,
                count: Self.elementCount(of: shape),
                owner: owner))
    }

    /// The number of elements: the product of `shape` (1 for a rank-0 array).
    @inlinable public var count: Int { storage.count }

    /// The number of axes.
    @inlinable public var rank: Int { shape.count }

    /// The row-major strides, in elements.
    @inlinable public var strides: [Int] { Self.strides(of: shape) }

    /// A copy of all elements in row-major order, as a new `Array`.
    ///
    /// Each read copies all ``count`` elements (O(count) time and memory), so read it once, not
    /// in a loop: index with ``subscript(_:)`` or ``withUnsafeBufferPointer(_:)``, and select
    /// entries with ``gathering(_:alongAxis:)``.
    @inlinable public var scalars: [Scalar] {
        withUnsafeBufferPointer { Array($0) }
    }

    /// The element at a multi-index.
    ///
    /// - Precondition: one index per axis, each in range.
    @inlinable
    public subscript(_ indices: Int...) -> Scalar {
        get { withUnsafeBufferPointer { $0[offset(of: indices)] } }
        set {
            let offset = offset(of: indices)
            withUnsafeMutableBufferPointer { $0[offset] = newValue }
        }
    }

    /// The row-major offset of a multi-index.
    @inlinable
    public func offset(of indices: [Int]) -> Int {
        precondition(
            indices.count == shape.count,
            "index \(indices) has \(indices.count) components for shape \(shape)")
        var offset = 0
        for (axis, index) in indices.enumerated() {
            precondition(
                index >= 0 && index < shape[axis],
                "index \(indices) is out of bounds for shape \(shape)")
            offset = offset * shape[axis] + index
        }
        return offset
    }

    /// Calls `body` with a read-only view of the row-major elements.
    @inlinable
    public func withUnsafeBufferPointer<R, E: Error>(_ body: (UnsafeBufferPointer<Scalar>) throws(E) -> R) throws(E)
        -> R
    {
        try body(UnsafeBufferPointer(start: storage.base, count: storage.count))
    }

    /// Calls `body` with a writable view of the row-major elements, copying shared or
    /// borrowed storage first.
    @inlinable
    public mutating func withUnsafeMutableBufferPointer<R, E: Error>(
        _ body: (UnsafeMutableBufferPointer<Scalar>) throws(E) -> R
    ) throws(E) -> R {
        makeUnique()
        #if KANDINSKY_INTERNAL_CHECKS
            defer { _checkInvariants() }
        #endif
        return try body(UnsafeMutableBufferPointer(start: storage.base, count: storage.count))
    }

    /// Calls `body` with the raw bytes of the elements.
    @inlinable
    public func withUnsafeBytes<R, E: Error>(_ body: (UnsafeRawBufferPointer) throws(E) -> R) throws(E) -> R {
        try body(UnsafeRawBufferPointer(start: storage.base, count: storage.count * MemoryLayout<Scalar>.stride))
    }

    @inlinable
    mutating func makeUnique() {
        if !isKnownUniquelyReferenced(&storage) || storage.isBorrowed {
            storage = storage.copy()
        }
    }

    /// The same elements viewed with another shape of the same element count. No copy is made.
    ///
    /// One extent may be `-1`; it is inferred from the others.
    @inlinable
    public func reshaped(to newShape: [Int]) -> ShapedArray {
        var resolved = newShape
        if let inferred = newShape.firstIndex(of: -1) {
            let known = newShape.enumerated().filter { $0.offset != inferred }.reduce(1) { $0 * $1.element }
            precondition(
                known > 0 && count % known == 0,
                "cannot reshape \(shape) to \(newShape)")
            resolved[inferred] = count / known
        }
        precondition(
            Self.elementCount(of: resolved) == count,
            "cannot reshape \(shape) (\(count) elements) to \(newShape)")
        return ShapedArray(shape: resolved, storage: storage)
    }

    /// The product of the extents, checking that none is negative.
    @inlinable
    public static func elementCount(of shape: [Int]) -> Int {
        shape.reduce(1) { partial, extent in
            precondition(extent >= 0, "shape \(shape) has a negative extent")
            return partial * extent
        }
    }

    /// The row-major strides of a shape, in elements.
    @inlinable
    public static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in shape.indices.reversed() {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }
}

extension ShapedArray: Equatable where Scalar: Equatable {
    /// Arrays are equal when their shapes and all elements are equal (`NaN != NaN`).
    @inlinable
    public static func == (lhs: ShapedArray, rhs: ShapedArray) -> Bool {
        guard lhs.shape == rhs.shape else { return false }
        return lhs.withUnsafeBufferPointer { a in
            rhs.withUnsafeBufferPointer { b in a.elementsEqual(b) }
        }
    }
}

extension ShapedArray: CustomStringConvertible {
    /// The shape and the first eight elements, for debugging output.
    public var description: String {
        let preview = withUnsafeBufferPointer { $0.prefix(8).map { "\($0)" }.joined(separator: ", ") }
        return "ShapedArray<\(Scalar.self)>(shape: \(shape), [\(preview)\(count > 8 ? ", …" : "")])"
    }
}

/// Heap memory for the elements of a ``ShapedArray``: owned, or borrowed from an owner object
/// such as a memory-mapped file.
@usableFromInline
final class ArrayStorage<Scalar: BitwiseCopyable>: @unchecked Sendable {
    @usableFromInline let base: UnsafeMutablePointer<Scalar>
    @usableFromInline let count: Int
    @usableFromInline let owner: AnyObject?

    @usableFromInline var isBorrowed: Bool { owner != nil }

    @usableFromInline
    init(uninitializedCount count: Int) {
        // Aligned to a cache line so BLAS and vector loops start on a boundary.
        let raw = UnsafeMutableRawPointer.allocate(
            byteCount: max(count, 1) * MemoryLayout<Scalar>.stride,
            alignment: 64)
        self.base = raw.bindMemory(to: Scalar.self, capacity: max(count, 1))
        self.count = count
        self.owner = nil
    }

    @usableFromInline
    init(borrowing base: UnsafeMutablePointer<Scalar>, count: Int, owner: AnyObject) {
        self.base = base
        self.count = count
        self.owner = owner
    }

    @usableFromInline
    func copy() -> ArrayStorage {
        let copy = ArrayStorage(uninitializedCount: count)
        copy.base.initialize(from: base, count: count)
        return copy
    }

    deinit {
        if owner == nil { UnsafeMutableRawPointer(base).deallocate() }
    }
}

/// A row-major array of 32-bit floats: the arithmetic type of Kandinsky.
public typealias Tensor = ShapedArray<Float>

/// A row-major array of 16-bit floats: compact storage for large score and probability arrays.
public typealias HalfTensor = ShapedArray<Float16>
