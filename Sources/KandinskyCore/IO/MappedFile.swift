import Foundation

/// An open file read with positioned reads, so large payloads go straight from the kernel into
/// their final storage.
package final class ReadableFile {
    package let path: String
    let descriptor: Int32
    /// The file's size in bytes when it was opened.
    package let size: Int

    package init(url: URL) throws(FileFormatError) {
        path = url.path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw FileFormatError(
                file: url.path, field: "file", problem: "cannot open: \(String(cString: strerror(errno)))")
        }
        var status = stat()
        guard fstat(fd, &status) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            throw FileFormatError(file: url.path, field: "file", problem: "cannot stat: \(message)")
        }
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            close(fd)
            throw FileFormatError(file: url.path, field: "file", problem: "not a regular file")
        }
        descriptor = fd
        size = Int(status.st_size)
    }

    deinit { close(descriptor) }

    /// Reads exactly `count` bytes at `offset` into `destination`.
    package func read(into destination: UnsafeMutableRawPointer, count: Int, at offset: Int) throws(FileFormatError) {
        var done = 0
        while done < count {
            let result = pread(descriptor, destination + done, count - done, off_t(offset + done))
            if result < 0 {
                if errno == EINTR { continue }
                throw FileFormatError(
                    file: path, field: "file", problem: "read failed: \(String(cString: strerror(errno)))")
            }
            if result == 0 {
                throw FileFormatError(file: path, field: "file", problem: "file shrank while being read")
            }
            done += result
        }
    }

    /// Tells the kernel that bytes `range` will be read soon (`POSIX_FADV_WILLNEED`), so it
    /// reads them from disk while the caller computes; a hint that never fails.
    package func willNeed(_ range: Range<Int>) {
        let (start, end) = (max(0, range.lowerBound), min(size, range.upperBound))
        guard end > start else { return }
        _ = posix_fadvise(descriptor, off_t(start), off_t(end - start), POSIX_FADV_WILLNEED)
    }

    /// Reads `count` bytes at `offset`.
    package func readBytes(count: Int, at offset: Int) throws(FileFormatError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var failure: FileFormatError?
        bytes.withUnsafeMutableBytes { buffer in
            guard count > 0 else { return }
            do throws(FileFormatError) { try read(into: buffer.baseAddress!, count: count, at: offset) } catch {
                failure = error
            }
        }
        if let failure { throw failure }
        return bytes
    }
}

/// A private, copy-on-write memory map of a whole file (`PROT_READ | PROT_WRITE`,
/// `MAP_PRIVATE`): arrays may borrow its pages, and writing through them never reaches the file.
/// Unmapped when the last borrower goes away.
package final class MemoryMap: @unchecked Sendable {
    package let base: UnsafeMutableRawPointer
    package let length: Int

    package init(file: ReadableFile) throws(FileFormatError) {
        precondition(file.size > 0, "cannot map an empty file")
        guard let address = mmap(nil, file.size, PROT_READ | PROT_WRITE, MAP_PRIVATE, file.descriptor, 0),
            address != MAP_FAILED
        else {
            throw FileFormatError(
                file: file.path, field: "file", problem: "cannot memory-map: \(String(cString: strerror(errno)))")
        }
        base = address
        length = file.size
    }

    deinit { munmap(base, length) }

    /// Drops the resident pages of the whole pages inside bytes `range` (`MADV_DONTNEED`): they
    /// leave the process's resident memory, and a later read maps them again from the file (the
    /// kernel's page cache usually still holds them). Safe while other threads read the range,
    /// because no page of this map is ever written; a page partly outside the range is kept.
    package func dropPages(_ range: Range<Int>) {
        let page = Int(getpagesize())
        let start = (range.lowerBound + page - 1) / page * page
        let end = min(range.upperBound, length) / page * page
        if end > start { madvise(base + start, end - start, MADV_DONTNEED) }
    }
}

/// Checks that every byte of a boolean payload is 0 or 1, the only bit patterns Swift's `Bool`
/// may hold; returns the index of the first other byte.
func firstInvalidBoolByte(_ bytes: UnsafeRawBufferPointer) -> Int? {
    bytes.firstIndex { $0 > 1 }
}
