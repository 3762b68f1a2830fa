import CBLAS

/// Whether a matrix operand of ``gemm(transposeA:transposeB:m:n:k:alpha:a:lda:b:ldb:beta:c:ldc:)``
/// is used as stored or transposed.
package enum MatrixTranspose: Sendable {
    /// The operand as stored (row-major).
    case none
    /// The operand's transpose, without copying.
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Single-precision general matrix multiply on row-major operands through OpenBLAS:
/// `C ← α · op(A) · op(B) + β · C`, with op(A) of shape [m, k], op(B) [k, n] and C [m, n].
///
/// `lda`, `ldb` and `ldc` are the row strides of the stored matrices (for an untransposed,
/// tightly packed A, `lda = k`). This wrapper is deliberately not inlinable: it is the one place
/// that calls `cblas_sgemm`.
///
/// - Complexity: 2·m·n·k floating-point operations, spread over OpenBLAS's threads.
package func gemm(
    transposeA: MatrixTranspose, transposeB: MatrixTranspose,
    m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int
) {
    guard m > 0, n > 0 else { return }
    _ = linearAlgebraThreadsCapped
    cblas_sgemm(
        CblasRowMajor, transposeA.cblas, transposeB.cblas,
        Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
}

/// Sets the number of threads OpenBLAS uses for subsequent calls: min(max(`count`, 1),
/// ``availableCoreCount``), so never more than `KANDINSKY_THREADS` allows.
public func setLinearAlgebraThreadCount(_ count: Int) {
    _ = linearAlgebraThreadsCapped
    openblas_set_num_threads(Int32(min(max(count, 1), availableCoreCount)))
}

/// The number of threads OpenBLAS currently uses (after the `KANDINSKY_THREADS` cap).
public var linearAlgebraThreadCount: Int {
    _ = linearAlgebraThreadsCapped
    return Int(openblas_get_num_threads())
}

/// Caps OpenBLAS at ``availableCoreCount`` threads once, before the first matrix product:
/// OpenBLAS starts with one thread per processor (or `OPENBLAS_NUM_THREADS`) and knows nothing
/// of `KANDINSKY_THREADS`. A value OpenBLAS was already told that is lower stays.
private let linearAlgebraThreadsCapped: Void = {
    let current = Int(openblas_get_num_threads())
    if current > availableCoreCount || current < 1 { openblas_set_num_threads(Int32(availableCoreCount)) }
}()

extension Tensor {
    /// The matrix product `op(self) · op(other)` of two rank-2 tensors, where `op` transposes
    /// when asked: [m, k] · [k, n] → [m, n].
    ///
    /// - Complexity: 2·m·n·k flops through `cblas_sgemm`.
    public func matmul(_ other: Tensor, transposeSelf: Bool = false, transposeOther: Bool = false) -> Tensor {
        precondition(
            rank == 2 && other.rank == 2,
            "matmul needs rank-2 tensors, got shapes \(shape) and \(other.shape)")
        let (m, k) = transposeSelf ? (shape[1], shape[0]) : (shape[0], shape[1])
        let (k2, n) = transposeOther ? (other.shape[1], other.shape[0]) : (other.shape[0], other.shape[1])
        precondition(
            k == k2,
            "cannot multiply shape \(shape)\(transposeSelf ? "ᵀ" : "") by shape \(other.shape)\(transposeOther ? "ᵀ" : "")"
        )
        var result = Tensor.zeros([m, n])
        withUnsafeBufferPointer { a in
            other.withUnsafeBufferPointer { b in
                result.withUnsafeMutableBufferPointer { c in
                    gemm(
                        transposeA: transposeSelf ? .transposed : .none,
                        transposeB: transposeOther ? .transposed : .none,
                        m: m, n: n, k: k,
                        a: a.baseAddress!, lda: shape[1],
                        b: b.baseAddress!, ldb: other.shape[1],
                        c: c.baseAddress!, ldc: n)
                }
            }
        }
        return result
    }
}
